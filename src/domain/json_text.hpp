#pragma once
#include <optional>
#include <string_view>
#include <vector>

// Where values are written in a JSON text, so that a value can be stored exactly as the
// client wrote it: Boost.JSON (1.81) reads every number that is not an integer of 64 bits
// into a double, which would turn 1.0 into 1 and -9223372036854775809 into
// -9223372036854776000. These functions read only texts Boost.JSON has already accepted;
// on anything else they never read past the text and may answer nothing.
namespace tracker::domain::json_text {

// The text of the value of the object's member named `key` (the last one when the key
// repeats: the one Boost.JSON keeps, and PostgreSQL's jsonb too), or nullopt.
std::optional<std::string_view> member(std::string_view object, std::string_view key);

// The texts of the array's elements, in order.
std::vector<std::string_view> elements(std::string_view array);

// The first thing written in `value` that PostgreSQL's jsonb refuses or cannot keep as
// written, or nullopt. A number that is not a finite double (a magnitude of 2^1024 or
// more: 1e400) or that is past numeric's limits (an exponent beyond +-16383, more than
// 16383 digits after the decimal point once the exponent is applied: 1e-20000); a word
// other than true, false and null (Infinity, NaN); a string (key or value) with the
// escape \u0000 (jsonb holds no U+0000). Everything else Boost.JSON accepts (valid UTF-8,
// surrogates only in pairs) jsonb accepts too.
std::optional<std::string_view> unstorable(std::string_view value);

}  // namespace tracker::domain::json_text
