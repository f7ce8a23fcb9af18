import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import Testing

/// Token lifetimes through the administration API.
@Suite("API tokens with an expiry")
struct TokenAPITests {
    @Test("expires_in_days: 1 issues a token that works and is listed as expiring about a day ahead")
    func expiryThroughTheAPI() async throws {
        try await APIHarness.run { h, c in
            let user = try #require(h.users[.biller])
            let path = "/api/v1/admin/users/\(user)/tokens"
            let issued = try await c.send(.post, path, token: h.tokens[.admin], json: ["label": "day", "expires_in_days": 1])
            #expect(issued.status == 201, "\(issued.body)")
            let token = try #require(issued.json["token"] as? String)
            #expect(try await h.fixture.users.principal(forToken: token)?.userID == user)

            for days in [0, 3651] {
                let refused = try await c.send(.post, path, token: h.tokens[.admin], json: ["expires_in_days": days])
                #expect(refused.status == 422, "\(days): \(refused.body)")
            }

            let list = try await c.send(.get, path, token: h.tokens[.admin])
            #expect(list.status == 200, "\(list.body)")
            let tokens = try #require(list.json["tokens"] as? [[String: Any]])
            let day = try #require(tokens.first { $0["label"] as? String == "day" })
            let text = try #require(day["expires_at"] as? String)
            let expiry = try Date(text, strategy: .iso8601)
            #expect(abs(expiry.timeIntervalSinceNow - 86_400) < 120, "\(text)")
            #expect(tokens.filter { $0["label"] as? String != "day" }.allSatisfy { $0["expires_at"] == nil })
        }
    }
}
