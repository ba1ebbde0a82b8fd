// A float luma plane and the geometric operations robust signals are computed from: area
// resampling of any rectangle to 64 x 64, content-box detection, rotation. All operate on a
// working plane of at most ~512 px a side, so every signal after the first costs only a DCT.
// Value types and free functions; thread-compatible.
#pragma once

#include <optional>
#include <vector>

#include "hash/pdq.h"
#include "media/image.h"

namespace takedown::match {

struct LumaPlane {
  int width = 0;
  int height = 0;
  std::vector<float> px;  // row-major, 0..255
  float at(int x, int y) const { return px[static_cast<size_t>(y) * width + x]; }
};

// Rectangle in plane coordinates (fractions allowed: crops and regions are proportional).
struct Rect {
  double x = 0, y = 0, w = 0, h = 0;
  friend bool operator==(const Rect&, const Rect&) = default;
};

// Luma of an image (grey kept, RGB weighted as PDQ does), area-averaged by the smallest integer
// factor that brings the longer side to <= max_side (WorkingFactor).
LumaPlane WorkingPlane(const media::Image& image, int max_side = 512);
int WorkingFactor(int width, int height, int max_side = 512);

// Luma of the image's pixels [x, x + w) x [y, y + h), not averaged (clamped to the image).
LumaPlane LumaCrop(const media::Image& image, int x, int y, int w, int h);

// Area-averages rect of the plane onto 64 x 64 (each output pixel the mean of the source area it
// covers, with fractional edge weights).
void AreaResample64(const LumaPlane& plane, const Rect& rect, hash::pdq::Buffer64& out);
// The same onto n x n (out: n * n floats, row-major). An n x n resample's cells are those of
// every aligned sub-block: the 64 x 64 resample of a rectangle's half-size window at a quarter
// offset is the matching 64 x 64 block of its 128 x 128 resample.
void AreaResample(const LumaPlane& plane, const Rect& rect, int n, float* out);

// PDQ's quality, DCT and bits on a 64 x 64 block; dihedral variants when asked.
hash::PdqHash HashBlock(const hash::pdq::Buffer64& block, hash::DihedralHashes* dihedral = nullptr);

// The region that holds the picture: frame lines are trimmed from the outside in -- solid lines
// (borders, letterbox and pillarbox bars), panels (a header, caption bar or input bar between
// two solid margins of its colour, with text and icons on it) and busy frame lines (mostly one
// colour, the rest standing well apart from it): solid columns at the sides first, then solid
// lines and panels on every side, then busy lines too. A sky or a wall (mostly one colour, the rest
// shading into it) is picture and stays. Each line is judged alone, so a picture gets the same box
// with or without a frame around it. nullopt when nothing is trimmed or the box is under 16 px a
// side.
std::optional<Rect> DetectContentBox(const LumaPlane& plane);

// The frame alone: solid lines and panels trimmed, no busy lines. Usually the whole picture of a
// bordered, letterboxed, captioned or screenshotted copy, where DetectContentBox may also trim
// into the picture's own flat edges. nullopt when nothing is trimmed.
std::optional<Rect> DetectFrameBox(const LumaPlane& plane);

// Both boxes above from one pass over the plane, and the frame's layers: the boxes met when its
// solid lines and panels are trimmed one run (or panel) per side at a time -- a screenshot's
// status bar, header, chat background and message bubble in turn, the picture's own flat margins
// after them -- at most max_layers of them, outermost first; then, for each colour trimmed on all
// four sides (a message bubble, a mat), the box inside its last run on each side (sides step out
// of phase when one has more frames than another). Each layer is at least 16 px a side. None
// when max_layers is 0.
struct FrameBoxes {
  std::optional<Rect> content, frame;
  std::vector<Rect> layers;
};
FrameBoxes DetectFrames(const LumaPlane& plane, int max_layers);

// The plane rotated by `degrees` (counter-clockwise) about its centre on the same canvas,
// bilinear, corners filled with `fill` (black by default) -- as an app or editor produces it.
LumaPlane Rotate(const LumaPlane& plane, double degrees, float fill = 0);

// A picture turned by a small angle on a filled canvas, as image editors and apps leave it: the
// canvas kept (the picture's corners cut off) or enlarged to hold the whole picture, the corners
// filled with one colour, any colour. Found from the four fill triangles at the canvas's corners:
// each triangle's slanted side is an edge of the picture, fitted as a line along its longer leg;
// at least three of the four must agree on the angle within 1.5 degrees and be straight, or two
// long and very straight ones within half a degree (picture of the fill's colour at the other two).
// `image`, the decoded pixels the plane was made from, when given: the fill is told from the
// picture by its colour as well as its luma.
struct Turn {
  double degrees = 0;  // counter-clockwise, as Rotate takes it: Rotate(p, -degrees) undoes it
  float fill = 0;      // the corners' luma
};
std::optional<Turn> DetectTurn(const LumaPlane& plane, const media::Image* image = nullptr);

}  // namespace takedown::match
