import ArgumentParser
import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Logging

/// Reads an environment variable, treating an empty value as unset.
func environment(_ name: String) -> String? {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
    return value
}

/// Where the database is: `DATABASE_URL`, or the embedded PostgreSQL when it is unset.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (env DATABASE_URL).")
    var databaseURLOption: String?

    /// The flag, else `DATABASE_URL`; nil means the embedded PostgreSQL.
    var databaseURL: String? { databaseURLOption ?? environment("DATABASE_URL") }

    @Option(help: "Data folder of the embedded PostgreSQL, used when no database URL is set (env CLAIMFLOW_DATA_DIR).")
    var dataDir: String = environment("CLAIMFLOW_DATA_DIR") ?? ".claimflow/postgres"

    @Option(
        name: .customLong("postgres-bin"),
        help: "Folder with initdb, pg_ctl and postgres for the embedded PostgreSQL (env CLAIMFLOW_POSTGRES_BIN)."
    )
    var postgresBinOption: String?

    var postgresBin: String? { postgresBinOption ?? environment("CLAIMFLOW_POSTGRES_BIN") }

    @Option(
        help: """
            on, or off behind a pooler in transaction mode that does not carry prepared statements \
            (PgBouncer before 1.21) (env CLAIMFLOW_PREPARED_STATEMENTS).
            """
    )
    var preparedStatements: String = environment("CLAIMFLOW_PREPARED_STATEMENTS") ?? "on"

    @Option(
        name: .customLong("listen-url"),
        help: """
            PostgreSQL URL for the one connection that LISTENs for work notifications, when DATABASE_URL goes \
            through a pooler in transaction mode (which cannot carry LISTEN); default: DATABASE_URL \
            (env CLAIMFLOW_LISTEN_URL).
            """
    )
    var listenURLOption: String?

    /// The LISTEN connection's own address, parsed; nil when it shares DATABASE_URL's.
    func listenURL() throws -> DatabaseURL? {
        guard let text = listenURLOption ?? environment("CLAIMFLOW_LISTEN_URL"), !text.isEmpty else { return nil }
        do {
            return try DatabaseURL(text)
        } catch {
            throw CLIError("CLAIMFLOW_LISTEN_URL: \(error.reason)")
        }
    }

    /// Whether the hot path's statements run prepared; throws on anything but on or off.
    func usesPreparedStatements() throws -> Bool {
        switch preparedStatements.lowercased() {
        case "on": return true
        case "off": return false
        default: throw CLIError("--prepared-statements must be on or off, not '\(preparedStatements)'")
        }
    }
}

/// Log verbosity and format.
struct LoggingOptions: ParsableArguments {
    @Option(help: "trace, debug, info, notice, warning, error or critical (env CLAIMFLOW_LOG_LEVEL).")
    var logLevel: String = environment("CLAIMFLOW_LOG_LEVEL") ?? "info"

    @Option(help: "text, or json for one JSON object a line (env CLAIMFLOW_LOG_FORMAT).")
    var logFormat: String = environment("CLAIMFLOW_LOG_FORMAT") ?? "text"

    func makeLogger(label: String = "claimflow") throws -> Logger {
        guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
            throw CLIError("unknown log level '\(logLevel)'; use trace, debug, info, notice, warning, error or critical")
        }
        guard logFormat == "text" || logFormat == "json" else {
            throw CLIError("unknown log format '\(logFormat)'; use text or json")
        }
        LoggingBootstrap.once(json: logFormat == "json")
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// Queue settings shared by the server and the workers.
struct QueueOptions: ParsableArguments {
    @Option(help: "Seconds a lease lasts without a heartbeat (env CLAIMFLOW_LEASE_SECONDS).")
    var leaseSeconds: Int = environment("CLAIMFLOW_LEASE_SECONDS").flatMap(Int.init) ?? 900

    func validate() throws {
        guard (10...86_400).contains(leaseSeconds) else {
            throw ValidationError("--lease-seconds must be between 10 and 86400")
        }
    }
}

/// Where 837P interchanges go, and the envelope they carry.
struct SubmissionOptions: ParsableArguments {
    @Option(help: "Folder the 837P interchange files are written to (env CLAIMFLOW_OUTBOX).")
    var outbox: String = environment("CLAIMFLOW_OUTBOX") ?? ".claimflow/outbox"

    @Option(help: "ISA06 sender id (env CLAIMFLOW_X12_SENDER_ID).")
    var x12SenderID: String = environment("CLAIMFLOW_X12_SENDER_ID") ?? "CLAIMFLOW"

    @Option(help: "ISA08 receiver id (env CLAIMFLOW_X12_RECEIVER_ID).")
    var x12ReceiverID: String = environment("CLAIMFLOW_X12_RECEIVER_ID") ?? "CLEARINGHOUSE"

    @Option(help: "ISA15 usage: T (test) or P (production) (env CLAIMFLOW_X12_USAGE).")
    var x12Usage: String = environment("CLAIMFLOW_X12_USAGE") ?? "T"

    var settings: X12Settings {
        X12Settings(senderID: x12SenderID, receiverID: x12ReceiverID, usage: x12Usage == "P" ? .production : .test)
    }

    var outboxURL: URL { URL(fileURLWithPath: outbox) }

    func validate() throws {
        guard x12Usage == "T" || x12Usage == "P" else { throw ValidationError("--x12-usage must be T or P") }
    }
}

/// Installs the log handler once per process. Each logger's level is set where it is made.
enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false

    static func once(json: Bool) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = .trace
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .trace
            return handler
        }
    }
}

/// A failure the operator can fix, said in one line.
struct CLIError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}
