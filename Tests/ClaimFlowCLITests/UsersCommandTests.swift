import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import Testing

@Suite("claimflow users")
struct UsersCommandTests {
    @Test("users add, token (works against the server), list (roles and practices), revoke (the token then gets 401)")
    func lifecycle() async throws {
        let (url, environment) = try await CLIDatabase.migrated(prefix: "cf_users")
        defer { Task { try? await TestDatabase.drop(url) } }
        try await TestDatabase.withClient(url) { client in
            _ = try await Fixture.make(client, code: "NORTH")
            _ = try await Fixture.make(client, code: "SOUTH")
        }

        let added = try await ClaimFlowProcess.run(
            ["users", "add", "rita.lane", "--name", "Rita Lane", "--roles", "supervisor,coder", "--practices", "NORTH,SOUTH"],
            environment: environment
        )
        #expect(added.status == 0, "\(added.standardError)")
        #expect(added.standardOutput.hasPrefix("user rita.lane "), "\(added.standardOutput)")
        let unknownPractice = try await ClaimFlowProcess.run(
            ["users", "add", "sam", "--roles", "coder", "--practices", "NOWHERE"], environment: environment)
        #expect(unknownPractice.status != 0)
        #expect(unknownPractice.standardError.contains("no practice with code 'NOWHERE'"), "\(unknownPractice.standardError)")

        let list = try await ClaimFlowProcess.run(["users", "list"], environment: environment)
        #expect(list.status == 0, "\(list.standardError)")
        #expect(LogLines.lines(list.standardOutput) == ["rita.lane\tcoder,supervisor\tNORTH,SOUTH\tactive"], "\(list.standardOutput)")

        let issued = try await ClaimFlowProcess.run(["users", "token", "rita.lane", "--label", "laptop"], environment: environment)
        #expect(issued.status == 0, "\(issued.standardError)")
        let token = issued.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.count >= 20 && !token.contains(" "), "one token on one line: \(issued.standardOutput)")
        let other = try await ClaimFlowProcess.run(["users", "token", "rita.lane", "--label", "desk"], environment: environment)
        let otherToken = other.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)

        let (_, outcome) = try await ServedClaimFlow.run(["--log-level", "notice"], environment: environment) { server in
            let before = try await server.withAPI { api in
                [
                    try await api.send(.get, "/api/v1/supervisor/queues", token: token).status,
                    try await api.send(.get, "/api/v1/supervisor/queues", token: otherToken).status,
                    try await api.send(.get, "/api/v1/supervisor/queues", token: token + "x").status,
                ]
            }
            #expect(before == [200, 200, 401], "the issued tokens authenticate; a wrong one does not")

            let revoked = try await ClaimFlowProcess.run(["users", "revoke", "rita.lane", "--label", "laptop"], environment: environment)
            #expect(revoked.status == 0, "\(revoked.standardError)")
            #expect(revoked.standardOutput.contains("revoked 1 token(s) of rita.lane labelled 'laptop'"), "\(revoked.standardOutput)")
            let after = try await server.withAPI { api in
                [
                    try await api.send(.get, "/api/v1/supervisor/queues", token: token).status,
                    try await api.send(.get, "/api/v1/supervisor/queues", token: otherToken).status,
                ]
            }
            #expect(after == [401, 200], "revoked at once, and only the token with that label")
        }
        #expect(outcome.status == 0)

        let nobody = try await ClaimFlowProcess.run(["users", "token", "nobody"], environment: environment)
        #expect(nobody.status != 0 && nobody.standardError.contains("no user named 'nobody'"), "\(nobody.standardError)")
    }

    @Test("users token --expires-in DAYS stores the expiry; a value outside 1...3650 is refused")
    func tokenWithExpiry() async throws {
        let (url, environment) = try await CLIDatabase.migrated(prefix: "cf_users_expiry")
        defer { Task { try? await TestDatabase.drop(url) } }
        try await TestDatabase.withClient(url) { client in
            _ = try await Fixture.make(client, code: "NORTH")
        }
        let added = try await ClaimFlowProcess.run(
            ["users", "add", "rita.lane", "--roles", "coder", "--practices", "NORTH"], environment: environment)
        #expect(added.status == 0, "\(added.standardError)")

        let issued = try await ClaimFlowProcess.run(
            ["users", "token", "rita.lane", "--label", "ci", "--expires-in", "90"], environment: environment)
        #expect(issued.status == 0, "\(issued.standardError)")
        for days in ["0", "3651"] {
            let refused = try await ClaimFlowProcess.run(
                ["users", "token", "rita.lane", "--label", "bad", "--expires-in", days], environment: environment)
            #expect(refused.status != 0 && refused.standardError.contains("--expires-in"), "\(days): \(refused.standardError)")
        }
        try await TestDatabase.withClient(url) { client in
            let fixture = try await Fixture.make(client, code: "SOUTH")
            let user = try #require(try await fixture.users.user(named: "rita.lane")?.id)
            let tokens = try await fixture.users.tokens(of: user)
            #expect(tokens.map(\.label) == ["ci"])
            let expiry = try #require(tokens.first?.expiresAt)
            #expect(abs(expiry.timeIntervalSinceNow - 90 * 86_400) < 300)
        }
    }
}
