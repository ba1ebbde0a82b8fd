// Text forms of hashing results: the reference CSV layout and one JSON object per line.
#pragma once

#include <string>

#include "hash/image_signals.h"
#include "match/signals.h"

namespace takedown::cli {

// "pdqhex,quality,filename\n", or with dihedral "h0,...,h7,quality,filename\n". The filename is
// quoted (RFC 4180) only when it contains a comma, quote or line break.
std::string SignalsCsvLine(const std::string& path, const hash::ImageSignals& s, bool dihedral);

// One JSON object (match::SignalsToJson) and a newline.
std::string SignalsJsonLine(const std::string& path, const match::FileSignals& s);

// CSV field quoting per RFC 4180.
std::string CsvField(const std::string& s);

}  // namespace takedown::cli
