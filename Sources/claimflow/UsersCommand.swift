import ArgumentParser
import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Logging
import PostgresNIO

/// `claimflow users`: manage users and their API tokens from the command line.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Manage users and their API tokens (needs DATABASE_URL).",
        subcommands: [Add.self, Token.self, Revoke.self, List.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user, or update the one with this name.")

        @Argument(help: "Login name: lower-case letters, digits, dots and dashes.") var username: String
        @Option(help: "The person's name as others see it.") var name: String?
        @Option(help: "Comma-separated roles: intake, coder, biller, supervisor, admin.") var roles: String
        @Option(help: "Comma-separated practice codes the user works in.") var practices: String
        @Option(help: "Comma-separated specialties the user may code.") var skills: String = ""
        @Flag(help: "Create the user inactive (no token works).") var inactive = false
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            var parsedRoles: Set<Role> = []
            for text in roles.split(separator: ",") {
                guard let role = Role(rawValue: text.trimmingCharacters(in: .whitespaces)) else {
                    throw CLIError("unknown role '\(text)'; use intake, coder, biller, supervisor or admin")
                }
                parsedRoles.insert(role)
            }
            let codes = practices.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let skillSet = Set(skills.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            let (username, displayName, active, chosenRoles) = (self.username, name ?? self.username, !inactive, parsedRoles)
            try await withUsers(database, logging) { client, users, logger in
                let practiceStore = PracticeStore(client: client, logger: logger)
                var practiceIDs: Set<UUID> = []
                for code in codes {
                    guard let id = try await practiceStore.id(forCode: code) else { throw CLIError("no practice with code '\(code)'") }
                    practiceIDs.insert(id)
                }
                let id = try await users.upsert(
                    User(
                        username: username, displayName: displayName, roles: chosenRoles, practiceIDs: practiceIDs,
                        skills: skillSet, active: active
                    ),
                    audit: .system
                )
                print("user \(username) \(id)")
            }
        }
    }

    /// A user and a token label, with the database to find them in.
    struct UserTokens: ParsableArguments {
        @Argument var username: String
        @Option(help: "The label that tells the user's tokens apart.") var label: String = "cli"
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        /// Runs `body` with the user's id, or fails naming the user.
        func withUser(_ body: @Sendable (UUID, UserStore) async throws -> Void) async throws {
            let username = self.username
            try await withUsers(database, logging) { _, users, _ in
                try await body(try await requireUser(username, in: users), users)
            }
        }
    }

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issue a new API token for a user and print it (once).")

        @OptionGroup var target: UserTokens
        @Option(help: "Days until the token stops working (1-3650); without it, it lives until revoked.")
        var expiresIn: Int?

        func validate() throws {
            if let days = expiresIn, !(1...3650).contains(days) {
                throw ValidationError("--expires-in must be between 1 and 3650 days")
            }
        }

        func run() async throws {
            let (label, days) = (target.label, expiresIn)
            try await target.withUser { id, users in
                print(try await users.issueToken(userID: id, label: label, expiresInDays: days, audit: .system))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a user's tokens with a label; effective at once.")

        @OptionGroup var target: UserTokens

        func run() async throws {
            let (username, label) = (target.username, target.label)
            try await target.withUser { id, users in
                let count = try await users.revokeTokens(userID: id, label: label, audit: .system)
                print("revoked \(count) token(s) of \(username) labelled '\(label)'")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users with their roles and practices.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            try await withUsers(database, logging) { client, users, logger in
                let all = try await users.users(inAnyOf: nil)
                let practices = try await PracticeStore(client: client, logger: logger)
                    .practices(Set(all.flatMap(\.practiceIDs)))
                let codes = Dictionary(uniqueKeysWithValues: practices.compactMap { practice in practice.id.map { ($0, practice.code) } })
                for user in all {
                    let roles = user.roles.map(\.rawValue).sorted().joined(separator: ",")
                    let practiceCodes = user.practiceIDs.compactMap { codes[$0] }.sorted().joined(separator: ",")
                    let state = user.active ? "active" : "inactive"
                    print("\(user.username)\t\(roles)\t\(practiceCodes)\t\(state)")
                }
            }
        }
    }
}

/// The id of the user with this name, or a one-line error naming it.
private func requireUser(_ username: String, in users: UserStore) async throws -> UUID {
    guard let user = try await users.user(named: username), let id = user.id else {
        throw CLIError("no user named '\(username)'")
    }
    return id
}

private func withUsers(
    _ database: DatabaseOptions,
    _ logging: LoggingOptions,
    _ body: @Sendable (PostgresClient, UserStore, Logger) async throws -> Void
) async throws {
    let logger = try logging.makeLogger()
    try await DatabaseSession.with(database, allowEmbedded: false, maximumConnections: 2, logger: logger) { client, _ in
        try await body(client, UserStore(client: client, logger: logger), logger)
    }
}
