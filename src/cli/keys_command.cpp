#include "cli/keys_command.hpp"

#include "config/config.hpp"
#include "domain/api_key.hpp"
#include "metrics/metrics.hpp"
#include "ports/errors.hpp"
#include "ports/key_store.hpp"
#include "postgres/key_store.hpp"
#include "postgres/pool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tracker::cli {

namespace {

namespace asio = boost::asio;

constexpr std::string_view kUsage =
    "usage: event-tracker keys create --scope=write|read|admin --name=NAME [--origins=https://a.example,...]\n"
    "       event-tracker keys list\n"
    "       event-tracker keys revoke NAME|PREFIX\n"
    "The database is the server's: --pg-dsn=... or TRACKER_PG_DSN.\n";

class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct Command {
  std::string action;
  std::map<std::string, std::string> options;  // --scope, --name, --origins
  std::vector<std::string> arguments;
  std::vector<std::string> server_options;  // passed on to config::load
};

Command parse(int argc, char** argv) {
  Command command;
  if (argc < 3) throw UsageError("a keys command is missing");
  command.action = argv[2];
  for (int i = 3; i < argc; ++i) {
    std::string arg = argv[i];
    if (!arg.starts_with("--")) {
      command.arguments.push_back(arg);
      continue;
    }
    auto equals = arg.find('=');
    std::string flag = arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    if (flag == "scope" || flag == "name" || flag == "origins") {
      if (equals != std::string::npos) command.options[flag] = arg.substr(equals + 1);
      else if (i + 1 < argc) command.options[flag] = argv[++i];
      else throw UsageError("--" + flag + " needs a value");
      continue;
    }
    command.server_options.push_back(arg);
    if (equals == std::string::npos && i + 1 < argc) command.server_options.push_back(argv[++i]);
  }
  return command;
}

std::string option(const Command& command, const std::string& name) {
  auto found = command.options.find(name);
  if (found == command.options.end() || found->second.empty()) throw UsageError("--" + name + " is required");
  return found->second;
}

std::string origins_text(const std::vector<std::string>& origins) {
  std::string text;
  for (const std::string& origin : origins) text += (text.empty() ? "" : ",") + origin;
  return text.empty() ? "*" : text;
}

// Runs one store operation to its end on a connection of its own.
template <class Operation>
void run(const config::Config& config, Operation operation) {
  asio::io_context io;
  metrics::Registry metrics;
  postgres::ConnectionOptions options;
  options.dsn = config.pg_dsn;
  options.statement_timeout = std::chrono::milliseconds(config.pg_timeout_ms);
  postgres::Pool pool(io.get_executor(), options, 1, 1, metrics);
  postgres::KeyStore store(pool, std::chrono::milliseconds(config.pg_timeout_ms));
  std::exception_ptr failure;
  asio::co_spawn(io, operation(store), [&](std::exception_ptr error) { failure = error; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

int create(const config::Config& config, const Command& command) {
  auto scope = domain::parse_key_scope(option(command, "scope"));
  if (!scope) throw UsageError("--scope: expected write, read or admin");
  domain::ApiKey key;
  key.name = option(command, "name");
  if (!domain::is_key_name(key.name)) {
    throw UsageError("--name: 1 to 100 letters, digits, '.', '_', '-', '@', not starting like a key");
  }
  key.scope = *scope;
  auto origins = command.options.find("origins");
  if (origins != command.options.end()) {
    if (*scope != domain::KeyScope::write) throw UsageError("--origins: only a write key is limited to origins");
    try {
      key.allowed_origins = domain::parse_origins(origins->second);
    } catch (const std::invalid_argument& error) {
      throw UsageError(std::string("--origins: ") + error.what());
    }
  }
  std::string secret = domain::generate_key(key.scope);
  key.hash = domain::hash_key(secret);
  key.prefix = domain::display_prefix(secret);
  run(config, [&](ports::KeyStore& store) { return store.create(key); });
  std::cout << "created " << domain::to_string(key.scope) << " key '" << key.name << "' (prefix " << key.prefix
            << ", origins " << origins_text(key.allowed_origins)
            << "). It is shown only now; servers accept it within a few seconds:\n"
            << secret << std::endl;
  return 0;
}

int list(const config::Config& config) {
  std::vector<ports::KeyListing> keys;
  run(config, [&](ports::KeyStore& store) -> asio::awaitable<void> { keys = co_await store.list(); });
  std::cout << std::left << std::setw(24) << "NAME" << ' ' << std::setw(6) << "SCOPE" << ' ' << std::setw(13)
            << "PREFIX" << ' ' << std::setw(21) << "CREATED" << ' ' << std::setw(21) << "REVOKED" << ' '
            << "ORIGINS\n";
  for (const ports::KeyListing& key : keys) {
    std::cout << std::setw(24) << key.name << ' ' << std::setw(6) << domain::to_string(key.scope) << ' '
              << std::setw(13) << key.prefix << ' ' << std::setw(21) << key.created_at << ' ' << std::setw(21)
              << key.revoked_at.value_or("-") << ' ' << origins_text(key.allowed_origins) << '\n';
  }
  return 0;
}

int revoke(const config::Config& config, const Command& command) {
  if (command.arguments.size() != 1) throw UsageError("keys revoke takes one NAME or PREFIX");
  ports::KeyListing revoked;
  run(config, [&](ports::KeyStore& store) -> asio::awaitable<void> {
    revoked = co_await store.revoke(command.arguments.front());
  });
  std::cout << "revoked " << domain::to_string(revoked.scope) << " key '" << revoked.name << "' (prefix "
            << revoked.prefix << "); servers refuse it within a few seconds\n";
  return 0;
}

}  // namespace

int keys_command(int argc, char** argv) {
  try {
    Command command = parse(argc, argv);
    if (command.action == "help" || command.action == "--help") {
      std::cout << kUsage;
      return 0;
    }
    std::vector<char*> server_argv{argv[0]};
    for (std::string& arg : command.server_options) server_argv.push_back(arg.data());
    config::Config config;
    if (!config::load(config, static_cast<int>(server_argv.size()), server_argv.data())) return 0;
    if (command.action == "create") {
      if (!command.arguments.empty()) throw UsageError("unexpected argument " + command.arguments.front());
      return create(config, command);
    }
    if (command.action == "list") return list(config);
    if (command.action == "revoke") return revoke(config, command);
    throw UsageError("unknown keys command '" + command.action + "'");
  } catch (const UsageError& error) {
    std::cerr << "event-tracker keys: " << error.what() << '\n' << kUsage;
    return 2;
  } catch (const ports::KeyRefused& error) {
    std::cerr << "event-tracker keys: " << error.what() << '\n';
    return 1;
  } catch (const std::invalid_argument& error) {  // a server option
    std::cerr << "event-tracker keys: " << error.what() << '\n';
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "event-tracker keys: the database failed: " << error.what() << '\n';
    return 1;
  }
}

}  // namespace tracker::cli
