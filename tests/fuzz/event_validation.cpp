// Event validation (POST /api/events and /api/events/batch): any JSON body either
// gives a FieldError or an event that keeps every rule the store relies on.
#include "domain/event_record.hpp"
#include "domain/event_validation.hpp"
#include "fuzz_check.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace {

namespace json = boost::json;
using namespace tracker::domain;
using tracker::fuzz::kNowMs;

const ValidationLimits kLimits{};

bool plain_text(const std::string& text) {
  return !text.empty() && text.size() <= kLimits.max_text_length &&
         std::none_of(text.begin(), text.end(), [](char c) {
           auto u = static_cast<unsigned char>(c);
           return u < 0x20 || u == 0x7F;
         });
}

void check_error(const FieldError& error) {
  FUZZ_CHECK(!error.code.empty());
  FUZZ_CHECK(!error.message.empty());
  // Errors are shown in JSON answers; the body they came from was valid UTF-8.
  FUZZ_CHECK(tracker::fuzz::valid_utf8(error.message) && tracker::fuzz::valid_utf8(error.field));
  FUZZ_CHECK(error.field.size() <= 64 + sizeof("metadata."));
}

void check_event(const Event& event) {
  FUZZ_CHECK(plain_text(event.session_id));
  FUZZ_CHECK(event.component_id >= 1);
  FUZZ_CHECK(!event.post_id || *event.post_id >= 1);
  FUZZ_CHECK(!event.user_id || *event.user_id >= 1);
  FUZZ_CHECK(!requires_post_id(event.type) || event.post_id);
  FUZZ_CHECK(!requires_user_id(event.type) || event.user_id);
  FUZZ_CHECK(!requires_keyword(event.type) || event.keyword);
  FUZZ_CHECK(!event.keyword || plain_text(*event.keyword));
  FUZZ_CHECK(!event.element_id || plain_text(*event.element_id));
  FUZZ_CHECK(event.metadata.size() <= kLimits.max_metadata_fields);
  FUZZ_CHECK(event.server_time_ms == kNowMs);
  // Counters are bucketed by event time: the client's only when it is plausible.
  FUZZ_CHECK(event.event_time_ms == kNowMs ||
             (event.client_time_ms && event.event_time_ms == *event.client_time_ms &&
              event.event_time_ms <= kNowMs + kLimits.max_future_skew_ms &&
              event.event_time_ms >= kNowMs - kLimits.max_past_age_ms));
  // A COPY row: eleven columns, nothing unescaped that would end a column or the row.
  std::string row = to_copy_row(event);
  FUZZ_CHECK(std::count(row.begin(), row.end(), '\t') == 10);
  FUZZ_CHECK(row.find_first_of("\n\r") == std::string::npos);
}

void check(const std::variant<Event, FieldError>& result) {
  if (const auto* event = std::get_if<Event>(&result)) check_event(*event);
  else check_error(std::get<FieldError>(result));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::system::error_code ec;
  json::value body = json::parse(tracker::fuzz::as_text(data, size), ec);
  if (ec) return -1;  // the HTTP layer answers 400 before validation; not interesting here

  check(validate_event(body, kNowMs, kLimits));

  auto batch = validate_batch_envelope(body, kLimits);
  if (const auto* error = std::get_if<FieldError>(&batch)) {
    check_error(*error);
    return 0;
  }
  const auto& envelope = std::get<tracker::domain::BatchEnvelope>(batch);
  const json::array& events = *envelope.events;
  FUZZ_CHECK(!events.empty() && events.size() <= kLimits.max_batch_events);
  for (const json::value& item : events) {
    check(validate_event(item, json::serialize(item), kNowMs, kLimits, envelope.sent_at_ms));
  }
  return 0;
}
