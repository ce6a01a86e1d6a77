#include "app/event_explorer.hpp"

namespace tracker::app {

boost::asio::awaitable<domain::EventPage> EventExplorer::page(const domain::EventQuery& query) {
  co_return co_await reader_.list(query);
}

}  // namespace tracker::app
