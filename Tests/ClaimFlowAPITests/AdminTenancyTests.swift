import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import Testing

/// An administrator manages only what is wholly inside their practices.
@Suite("Administration stays inside its practices")
struct AdminTenancyTests {
    @Test("an admin cannot take over another practice's user by naming it, nor issue it a token")
    func noTakeover() async throws {
        try await APIHarness.run { h, c in
            let other = try await Fixture.make(h.fixture.client, code: "OTHER")
            let victim = try await other.user("other-biller", roles: [.biller])
            // A user of both practices is managed only by an administrator of both.
            let shared = try await other.user("shared-coder", roles: [.coder], extraPractices: [h.fixture.practiceID])
            let before = try await other.users.users(inAnyOf: nil).sorted { $0.username < $1.username }

            for username in ["other-biller", "shared-coder"] {
                let body: [String: Any] = [
                    "username": username, "display_name": "Taken Over", "roles": ["admin", "biller"], "practices": ["TEST"],
                ]
                let reply = try await c.send(.post, "/api/v1/admin/users", token: h.tokens[.admin], json: body)
                #expect(reply.status == 409, "\(username): \(reply.body)")
                #expect(reply.json["type"] as? String == "https://claimflow.dev/problems/conflict")
            }
            for user in [victim, shared] {
                let token = try await c.send(.post, "/api/v1/admin/users/\(user)/tokens", token: h.tokens[.admin], json: ["label": "x"])
                #expect(token.status == 404, "\(token.body)")
                let list = try await c.send(.get, "/api/v1/admin/users/\(user)/tokens", token: h.tokens[.admin])
                #expect(list.status == 404)
            }
            let after = try await other.users.users(inAnyOf: nil).sorted { $0.username < $1.username }
            #expect(after == before, "no user changed")
            let tokens = try await other.users.tokens(of: victim) + (try await other.users.tokens(of: shared))
            #expect(tokens.isEmpty)
        }
    }

    @Test("an admin keeps their own admin role and active flag")
    func noSelfLockout() async throws {
        try await APIHarness.run { h, c in
            let body: [String: Any] = [
                "username": "admin", "display_name": "Admin", "roles": ["coder"], "practices": ["TEST"], "active": false,
            ]
            let reply = try await c.send(.post, "/api/v1/admin/users", token: h.tokens[.admin], json: body)
            let paths = Set((reply.json["findings"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String })
            #expect(reply.status == 409 && paths == ["$.roles", "$.active"], "\(reply.body)")
            #expect(reply.json["type"] as? String == "https://claimflow.dev/problems/self-lockout")
            let me = try #require(try await h.fixture.users.user(named: "admin"))
            #expect(me.roles == [.admin] && me.active)
        }
    }

    @Test("two admins racing to create one practice code: one 201, one 409, and only the winner joins it")
    func practiceCreationIsInsertOnly() async throws {
        try await APIHarness.run(live: true) { h, c in
            let second = try await h.fixture.user("admin-two", roles: [.admin])
            let secondToken = try await h.fixture.users.issueToken(userID: second, label: "test", audit: .system)
            let body: [String: Any] = [
                "code": "RACE", "name": "Race Clinic", "npi": "1234567893", "tax_id": "123456789", "taxonomy": "207Q00000X",
                "address": ["line1": "1 Way", "city": "Springfield", "state": "IL", "postal_code": "627011234"],
            ]
            for round in 0..<5 {
                var request = body
                request["code"] = "RACE\(round)"
                let raw = String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
                let statuses = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                    for (name, token) in [("admin", h.tokens[.admin]!), ("admin-two", secondToken)] {
                        group.addTask { (name, try await c.send(.post, "/api/v1/admin/practices", token: token, raw: raw).status) }
                    }
                    var result: [String: Int] = [:]
                    for try await (name, status) in group { result[name] = status }
                    return result
                }
                #expect(statuses.values.sorted() == [201, 409], "round \(round): \(statuses)")
                let practice = try #require(
                    try await PracticeStore(client: h.fixture.client, logger: TestDatabase.logger).id(forCode: "RACE\(round)"))
                let members = try await h.fixture.users.users(inAnyOf: [practice]).map(\.username)
                let winner = statuses.first { $0.value == 201 }?.key
                #expect(members == [winner].compactMap { $0 }, "round \(round): \(members)")
            }
        }
    }
}
