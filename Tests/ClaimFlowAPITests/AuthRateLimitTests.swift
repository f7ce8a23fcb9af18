import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import Testing

@testable import ClaimFlowAPI

/// Failed authentications are limited per client address.
@Suite("Failed authentications are rate-limited per address")
struct AuthRateLimitTests {
    @Test("20 bad tokens are 401, the 21st is 429 with Retry-After, and so is a valid token from the same address")
    func limitedAfterTwentyFailures() async throws {
        try await APIHarness.run(live: true) { h, c in
            // Successes do not count.
            for _ in 0..<25 {
                #expect(try await c.send(.get, "/api/v1/supervisor/queues", token: h.tokens[.supervisor]).status == 200)
            }
            for attempt in 1...20 {
                let token: String? = attempt == 1 ? nil : "cf_guess\(attempt)"
                let reply = try await c.send(.get, "/api/v1/supervisor/queues", token: token)
                #expect(reply.status == 401, "attempt \(attempt): \(reply.body)")
            }
            let limited = try await c.send(.get, "/api/v1/supervisor/queues", token: "cf_guess21")
            #expect(limited.status == 429, "\(limited.body)")
            #expect(limited.headers[.contentType] == "application/problem+json")
            #expect(limited.json["type"] as? String == "https://claimflow.dev/problems/too-many-requests")
            let retryAfter = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...60).contains(retryAfter))

            // Held back: a valid token from the limited address is refused too, as is no token.
            let valid = try await c.send(.get, "/api/v1/supervisor/queues", token: h.tokens[.supervisor])
            #expect(valid.status == 429 && valid.headers[.retryAfter] != nil, "\(valid.body)")
            #expect(try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder]).status == 429)
            // Routes outside /api/v1 need no token and are not limited.
            #expect(try await c.send(.get, "/healthz").status == 200)
        }
    }

    @Test("the window ends, successes never count, a missing address shares one bucket, and the table stays bounded")
    func limiterWindowAndBounds() {
        let limiter = AuthFailureLimiter(limit: 3, window: .seconds(60), capacity: 4)
        let start = ContinuousClock.now
        for _ in 0..<3 {
            #expect(limiter.retryAfter("10.0.0.1", now: start) == nil)
            limiter.recordFailure("10.0.0.1", now: start)
        }
        #expect(limiter.retryAfter("10.0.0.1", now: start) == 60)
        #expect(limiter.retryAfter("10.0.0.1", now: start + .seconds(59.5)) == 1)
        #expect(limiter.retryAfter("10.0.0.2", now: start) == nil, "another address is not held back")
        #expect(limiter.retryAfter("10.0.0.1", now: start + .seconds(60)) == nil, "the window has passed")
        #expect(limiter.count == 0, "an ended window is dropped")

        for _ in 0..<3 { limiter.recordFailure(nil, now: start) }
        #expect(limiter.retryAfter(nil, now: start + .seconds(1)) == 59)

        for index in 0..<20 { limiter.recordFailure("10.1.0.\(index)", now: start + .seconds(Double(index))) }
        #expect(limiter.count <= 4)
        #expect(limiter.retryAfter(nil, now: start + .seconds(20)) == nil, "the oldest window was evicted first")
    }

    @Test("a token over its requests a minute is answered 429 with Retry-After; another token is not held back")
    func perTokenLimit() async throws {
        try await APIHarness.run(tokenRequestLimit: 5) { h, c in
            for _ in 1...5 {
                #expect(try await c.send(.get, "/api/v1/supervisor/queues", token: h.tokens[.supervisor]).status == 200)
            }
            let over = try await c.send(.get, "/api/v1/supervisor/queues", token: h.tokens[.supervisor])
            #expect(over.status == 429, "\(over.body)")
            #expect(Int(over.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect((over.json["detail"] as? String)?.contains("more than 5 requests in a minute with this token") == true)
            #expect(try await c.send(.get, "/api/v1/admin/payers", token: h.tokens[.admin]).status == 200, "another token")
        }
    }
}
