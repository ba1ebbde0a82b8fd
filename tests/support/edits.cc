#include "support/edits.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>

#include "media/decode.h"

namespace takedown::testing {
namespace {

constexpr int kSaveQuality = 90;

cv::Mat ToMat(const media::Image& img) {
  cv::Mat m(img.height, img.width, CV_8UC3);
  if (img.format == media::PixelFormat::kRgb8) {
    for (int y = 0; y < img.height; ++y)
      std::copy_n(img.row(y), img.row_bytes(), m.ptr<uint8_t>(y));
  } else {
    for (int y = 0; y < img.height; ++y) {
      for (int x = 0; x < img.width; ++x) {
        const uint8_t v = img.row(y)[x];
        m.ptr<uint8_t>(y)[3 * x] = m.ptr<uint8_t>(y)[3 * x + 1] = m.ptr<uint8_t>(y)[3 * x + 2] = v;
      }
    }
  }
  return m;
}

media::Image FromMat(const cv::Mat& m) {
  media::Image img = media::Image::Allocate(m.cols, m.rows, media::PixelFormat::kRgb8);
  for (int y = 0; y < m.rows; ++y) std::copy_n(m.ptr<uint8_t>(y), img.row_bytes(), img.row(y));
  return img;
}

std::vector<uint8_t> SaveJpeg(const media::Image& img, int quality) {
  auto r = media::EncodeJpeg(img, quality);
  if (!r.ok()) throw std::runtime_error(r.status().ToString());
  return std::move(r).value();
}

// Text that fits `width` pixels at the given height, drawn with an outline.
void DrawText(cv::Mat& m, const std::string& text, cv::Point origin, double height_px,
              const cv::Scalar& colour, const cv::Scalar* outline) {
  const int face = cv::FONT_HERSHEY_SIMPLEX;
  int base = 0;
  const cv::Size unit = cv::getTextSize(text, face, 1.0, 1, &base);
  const double scale = height_px / std::max(1, unit.height);
  const int thick = std::max(1, static_cast<int>(std::lround(scale * 1.8)));
  if (outline != nullptr)
    cv::putText(m, text, origin, face, scale, *outline, thick + 2, cv::LINE_AA);
  cv::putText(m, text, origin, face, scale, colour, thick, cv::LINE_AA);
}

double TextWidthFor(const std::string& text, double height_px) {
  int base = 0;
  const cv::Size unit = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, 1.0, 1, &base);
  return unit.width * height_px / std::max(1, unit.height);
}

cv::Mat Pad(const cv::Mat& m, int top, int bottom, int left, int right, cv::Scalar colour) {
  cv::Mat out;
  cv::copyMakeBorder(m, out, top, bottom, left, right, cv::BORDER_CONSTANT, colour);
  return out;
}

cv::Mat CentreCrop(const cv::Mat& m, double keep) {
  const int w = std::max(1, static_cast<int>(std::lround(m.cols * keep)));
  const int h = std::max(1, static_cast<int>(std::lround(m.rows * keep)));
  return m(cv::Rect((m.cols - w) / 2, (m.rows - h) / 2, w, h)).clone();
}

// A phone screenshot of a chat showing the image: 9:19.5 canvas, status bar, app header, the
// image in a message bubble at 86% of the width, a caption line and the input bar.
cv::Mat Screenshot(const cv::Mat& m) {
  const int W = std::max(360, static_cast<int>(std::lround(m.cols / 0.86)));
  const int H = static_cast<int>(std::lround(W * 19.5 / 9.0));
  cv::Mat canvas(H, W, CV_8UC3, cv::Scalar(18, 18, 18));
  const int status = H * 3 / 100, header = H * 7 / 100, input = H * 8 / 100;
  cv::rectangle(canvas, cv::Rect(0, 0, W, status), cv::Scalar(0, 0, 0), cv::FILLED);
  DrawText(canvas, "12:34", cv::Point(W / 20, status * 3 / 4), status * 0.5,
           cv::Scalar(255, 255, 255), nullptr);
  DrawText(canvas, "5G 87%", cv::Point(W * 3 / 4, status * 3 / 4), status * 0.5,
           cv::Scalar(255, 255, 255), nullptr);
  cv::rectangle(canvas, cv::Rect(0, status, W, header), cv::Scalar(52, 44, 31), cv::FILLED);
  cv::circle(canvas, cv::Point(W / 8, status + header / 2), header / 3, cv::Scalar(120, 160, 90),
             cv::FILLED);
  DrawText(canvas, "Group chat (2,418)", cv::Point(W / 4, status + header * 5 / 8), header * 0.32,
           cv::Scalar(235, 235, 235), nullptr);
  // The image, scaled to 86% of the width, or less if it would not fit above the input bar.
  const int max_h = H - status - header - input - H * 12 / 100;
  double s = 0.86 * W / m.cols;
  if (m.rows * s > max_h) s = static_cast<double>(max_h) / m.rows;
  cv::Mat scaled;
  cv::resize(m, scaled, cv::Size(), s, s, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  const int x0 = (W - scaled.cols) / 2, y0 = status + header + H * 4 / 100;
  cv::rectangle(canvas, cv::Rect(x0 - 8, y0 - 8, scaled.cols + 16, scaled.rows + H * 5 / 100),
                cv::Scalar(75, 95, 5), cv::FILLED);
  scaled.copyTo(canvas(cv::Rect(x0, y0, scaled.cols, scaled.rows)));
  DrawText(canvas, "look at this lol", cv::Point(x0, y0 + scaled.rows + H * 3 / 100), H * 0.015,
           cv::Scalar(230, 230, 230), nullptr);
  cv::rectangle(canvas, cv::Rect(0, H - input, W, input), cv::Scalar(40, 40, 40), cv::FILLED);
  cv::rectangle(canvas, cv::Rect(W / 20, H - input * 3 / 4, W * 3 / 4, input / 2),
                cv::Scalar(70, 70, 70), cv::FILLED);
  DrawText(canvas, "Message", cv::Point(W / 12, H - input * 2 / 5), input * 0.22,
           cv::Scalar(160, 160, 160), nullptr);
  return canvas;
}

cv::Mat Pixels(const std::string& name, const cv::Mat& m) {
  const int w = m.cols, h = m.rows;
  cv::Mat out;
  if (name == "resize_50" || name == "resize_25") {
    const double f = name == "resize_50" ? 0.5 : 0.25;
    cv::resize(m, out,
               cv::Size(std::max(1, static_cast<int>(w * f)), std::max(1, static_cast<int>(h * f))),
               0, 0, cv::INTER_AREA);
  } else if (name == "greyscale") {
    cv::Mat g;
    cv::cvtColor(m, g, cv::COLOR_RGB2GRAY);
    cv::cvtColor(g, out, cv::COLOR_GRAY2RGB);
  } else if (name == "brightness_+25") {
    m.convertTo(out, -1, 1.25, 0);  // every channel x1.25, clipped
  } else if (name == "contrast_+50") {
    m.convertTo(out, -1, 1.5, -0.5 * 128);  // (v - 128) * 1.5 + 128
  } else if (name == "blur") {
    const double sigma = std::max(1.0, std::max(w, h) / 400.0);
    cv::GaussianBlur(m, out, cv::Size(0, 0), sigma);
  } else if (name == "noise") {
    cv::Mat n(m.size(), CV_16SC3);
    cv::RNG rng(12345);
    rng.fill(n, cv::RNG::NORMAL, 0, 12);
    cv::Mat wide;
    m.convertTo(wide, CV_16SC3);
    wide += n;
    wide.convertTo(out, CV_8UC3);
  } else if (name == "rotate_90") {
    cv::rotate(m, out, cv::ROTATE_90_CLOCKWISE);
  } else if (name == "mirror") {
    cv::flip(m, out, 1);
  } else if (name == "rotate_4") {
    const cv::Mat r = cv::getRotationMatrix2D(cv::Point2f(w / 2.0f, h / 2.0f), 4.0, 1.0);
    cv::warpAffine(m, out, r, m.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
  } else if (name == "border_10") {
    out = Pad(m, h / 10, h / 10, w / 10, w / 10, cv::Scalar(0, 0, 0));
  } else if (name == "letterbox_16_9") {
    if (w * 9 >= h * 16) {
      const int target_h = static_cast<int>(std::lround(w * 9.0 / 16.0));
      const int pad = std::max(0, target_h - h);
      out = Pad(m, pad / 2, pad - pad / 2, 0, 0, cv::Scalar(0, 0, 0));
    } else {
      const int target_w = static_cast<int>(std::lround(h * 16.0 / 9.0));
      const int pad = std::max(0, target_w - w);
      out = Pad(m, 0, 0, pad / 2, pad - pad / 2, cv::Scalar(0, 0, 0));
    }
  } else if (name == "crop_5") {
    out = CentreCrop(m, 0.95);
  } else if (name == "crop_15") {
    out = CentreCrop(m, 0.85);
  } else if (name == "watermark") {
    out = m.clone();
    const std::string text = "@channel_4821";
    double th = h * 0.07;
    th = std::min(th, 0.8 * w / std::max(1.0, TextWidthFor(text, 1.0)));
    cv::Mat layer = out.clone();
    const cv::Scalar black(0, 0, 0), white(255, 255, 255);
    DrawText(
        layer, text,
        cv::Point(static_cast<int>((w - TextWidthFor(text, th)) / 2), static_cast<int>(h * 0.78)),
        th, white, &black);
    cv::addWeighted(layer, 0.7, out, 0.3, 0, out);
  } else if (name == "caption") {
    const int bar = std::max(8, h * 18 / 100);
    out = Pad(m, bar, 0, 0, 0, cv::Scalar(255, 255, 255));
    const std::string text = "when you see it";
    double th = bar * 0.45;
    th = std::min(th, 0.9 * w / std::max(1.0, TextWidthFor(text, 1.0)));
    DrawText(out, text,
             cv::Point(static_cast<int>((w - TextWidthFor(text, th)) / 2),
                       static_cast<int>(bar * 0.5 + th / 2)),
             th, cv::Scalar(0, 0, 0), nullptr);
  } else if (name == "screenshot") {
    out = Screenshot(m);
  } else if (name == "sticker") {
    out = m.clone();
    const double r = std::sqrt(0.03 * w * h / M_PI);  // a disc covering 3% of the area
    const cv::Point c(static_cast<int>(w * 0.7), static_cast<int>(h * 0.35));
    cv::circle(out, c, static_cast<int>(r), cv::Scalar(255, 204, 0), cv::FILLED, cv::LINE_AA);
    cv::circle(out, c + cv::Point(static_cast<int>(-r / 3), static_cast<int>(-r / 4)),
               std::max(1, static_cast<int>(r / 8)), cv::Scalar(20, 20, 20), cv::FILLED);
    cv::circle(out, c + cv::Point(static_cast<int>(r / 3), static_cast<int>(-r / 4)),
               std::max(1, static_cast<int>(r / 8)), cv::Scalar(20, 20, 20), cv::FILLED);
    cv::ellipse(out, c + cv::Point(0, static_cast<int>(r / 6)),
                cv::Size(static_cast<int>(r / 2), static_cast<int>(r / 3)), 0, 0, 180,
                cv::Scalar(20, 20, 20), std::max(1, static_cast<int>(r / 12)));
  } else {
    throw std::invalid_argument("unknown edit " + name);
  }
  return out;
}

cv::Mat RotateSweep(const cv::Mat& m, double deg, const std::string& mode) {
  const int w = m.cols, h = m.rows;
  const double rad = deg * M_PI / 180, c = std::abs(std::cos(rad)), s = std::abs(std::sin(rad));
  cv::Mat r = cv::getRotationMatrix2D(cv::Point2f(w / 2.0f, h / 2.0f), deg, 1.0);
  cv::Size size = m.size();
  if (mode.starts_with("expand")) {
    size = cv::Size(static_cast<int>(std::lround(w * c + h * s)),
                    static_cast<int>(std::lround(w * s + h * c)));
    r.at<double>(0, 2) += (size.width - w) / 2.0;
    r.at<double>(1, 2) += (size.height - h) / 2.0;
  }
  const cv::Scalar fill = mode.ends_with("white")    ? cv::Scalar(255, 255, 255)
                          : mode.ends_with("colour") ? cv::Scalar(200, 60, 40)
                                                     : cv::Scalar(0, 0, 0);
  cv::Mat out;
  cv::warpAffine(m, out, r, size, cv::INTER_LINEAR, cv::BORDER_CONSTANT, fill);
  if (mode == "straighten") {
    // The largest centred rectangle of the picture's shape inside the turned picture.
    const double keep = std::min(w / (w * c + h * s), h / (w * s + h * c));
    out = CentreCrop(out, keep * 0.995);  // a pixel inside, as an editor's crop tool leaves it
  }
  return out;
}

cv::Mat CropSweep(const cv::Mat& m, double side, bool centre) {
  const double left = centre ? side : 1.5 * side, right = centre ? side : 0.5 * side;
  const double top = centre ? side : 0.5 * side, bottom = centre ? side : 1.5 * side;
  const int x0 = static_cast<int>(std::lround(m.cols * left));
  const int y0 = static_cast<int>(std::lround(m.rows * top));
  const int x1 = m.cols - static_cast<int>(std::lround(m.cols * right));
  const int y1 = m.rows - static_cast<int>(std::lround(m.rows * bottom));
  return m(cv::Rect(x0, y0, std::max(1, x1 - x0), std::max(1, y1 - y0))).clone();
}

// A caption bar of `bar` of the picture's height, white, on top or at the bottom, with black text
// whose line box (ascent and descent) is `text` of the bar high and centred in it, as caption
// tools place a line; at most 90% of the picture wide.
cv::Mat CaptionSweep(const cv::Mat& m, double bar_share, double text_share, bool top,
                     const std::string& text) {
  const int w = m.cols, h = m.rows;
  const int bar = std::max(8, static_cast<int>(std::lround(h * bar_share)));
  cv::Mat out = Pad(m, top ? bar : 0, top ? 0 : bar, 0, 0, cv::Scalar(255, 255, 255));
  int base = 0;
  const cv::Size unit = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, 1.0, 1, &base);
  const double descent = static_cast<double>(base) / std::max(1, unit.height);  // of the ascent
  const double ascent =
      std::min(bar * text_share / (1 + descent), 0.9 * w / std::max(1.0, TextWidthFor(text, 1.0)));
  const int y0 = top ? 0 : h;
  DrawText(out, text,
           cv::Point(static_cast<int>((w - TextWidthFor(text, ascent)) / 2),
                     static_cast<int>(y0 + bar * 0.5 + ascent * (1 - descent) / 2)),
           ascent, cv::Scalar(0, 0, 0), nullptr);
  return out;
}

}  // namespace

std::vector<std::string> SweepFamilies() { return {"rotate", "crop", "caption"}; }

std::vector<Edit> SweepEdits(const std::string& family) {
  std::vector<Edit> out;
  auto add = [&](const std::string& name, std::function<cv::Mat(const cv::Mat&)> f) {
    out.push_back({name, [f](const media::Image& i) {
                     return SaveJpeg(FromMat(f(ToMat(i))), kSaveQuality);
                   }});
  };
  if (family == "rotate") {
    for (const char* mode :
         {"keep-black", "keep-white", "expand-white", "expand-colour", "straighten"}) {
      for (int deg = -15; deg <= 15; ++deg) {
        if (deg == 0) continue;
        const std::string m = mode;
        add(fmt::format("rotate/{}/{}", m, deg),
            [m, deg](const cv::Mat& x) { return RotateSweep(x, deg, m); });
      }
    }
  } else if (family == "crop") {
    for (const bool centre : {true, false}) {
      for (int pct = 2; pct <= 25; ++pct) {
        add(fmt::format("crop/{}/{}", centre ? "centre" : "offcentre", pct),
            [pct, centre](const cv::Mat& x) { return CropSweep(x, pct / 100.0, centre); });
      }
    }
  } else if (family == "caption") {
    const char* texts[] = {"when you see it", "WAIT FOR IT", "me, every monday"};
    for (const bool top : {true, false}) {
      for (int bar = 10; bar <= 26; bar += 4) {
        for (int text = 30; text <= 60; text += 15) {
          const std::string t = texts[(bar / 4 + text / 15) % 3];  // each size meets each text
          add(fmt::format("caption/{}/{}-{}", top ? "top" : "bottom", bar, text),
              [bar, text, top, t](const cv::Mat& x) {
                return CaptionSweep(x, bar / 100.0, text / 100.0, top, t);
              });
        }
      }
    }
  } else {
    throw std::invalid_argument("unknown sweep " + family);
  }
  return out;
}

media::Image ApplyEditPixels(const std::string& name, const media::Image& rgb) {
  return FromMat(Pixels(name, ToMat(rgb)));
}

const std::vector<Edit>& ReshareEdits() {
  static const std::vector<Edit> edits = [] {
    std::vector<Edit> e;
    e.push_back({"jpeg_q30", [](const media::Image& i) { return SaveJpeg(i, 30); }});
    e.push_back({"jpeg_q70", [](const media::Image& i) { return SaveJpeg(i, 70); }});
    for (const char* name :
         {"resize_50", "resize_25", "greyscale", "brightness_+25", "contrast_+50", "blur", "noise",
          "rotate_90", "mirror", "rotate_4", "border_10", "letterbox_16_9", "crop_5", "crop_15",
          "watermark", "caption", "screenshot", "sticker"}) {
      const std::string n = name;
      e.push_back({n, [n](const media::Image& i) {
                     return SaveJpeg(ApplyEditPixels(n, i), kSaveQuality);
                   }});
    }
    return e;
  }();
  return edits;
}

}  // namespace takedown::testing
