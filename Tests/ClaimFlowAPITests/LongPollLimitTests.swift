import ClaimFlowAPI
import ClaimFlowCore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Waiting pulls are bounded")
struct LongPollLimitTests {
    /// One pull on a connection of its own, as separate clients would send it.
    static func pull(_ port: Int, _ path: String, token: String) async throws -> (status: Int, retryAfter: String?) {
        try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(30))) { client in
            let response = try await client.execute(
                TestClient.Request(path, method: .post, headers: [.authorization: "Bearer \(token)"], body: nil))
            return (Int(response.status.code), response.headers[.retryAfter])
        }
    }

    @Test(
        "beyond the per-user and the total limit a waiting pull is 429 with Retry-After at once; a pull that does not wait is never held back"
    )
    func limits() async throws {
        try await APIHarness.run(live: true, longPolls: LongPollLimits(perUser: 2, total: 3)) { h, c in
            let port = try #require(c.port)
            let (coder, biller) = (h.tokens[.coder]!, h.tokens[.biller]!)
            // Nothing waits in either queue, so each of these waits its 6 s and answers 204.
            let waiting = Task {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for (path, token) in [
                        ("/api/v1/coder/next?wait=6", coder), ("/api/v1/coder/next?wait=6", coder), ("/api/v1/biller/next?wait=6", biller),
                    ] {
                        group.addTask { try await Self.pull(port, path, token: token).status }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            try await Task.sleep(for: .seconds(2))
            let started = ContinuousClock.now
            let third = try await Self.pull(port, "/api/v1/coder/next?wait=6", token: coder)
            #expect(third.status == 429 && third.retryAfter == "1", "the user's limit: \(third)")
            let overTotal = try await Self.pull(port, "/api/v1/biller/next?wait=6", token: biller)
            #expect(overTotal.status == 429, "the server's limit: \(overTotal)")
            #expect(ContinuousClock.now - started < .seconds(5), "refused at once, not after waiting")
            let noWait = try await Self.pull(port, "/api/v1/coder/next?wait=0", token: coder)
            #expect(noWait.status == 204, "a pull that does not wait")
            #expect(try await waiting.value.sorted() == [204, 204, 204])
            // The places are given back when the pulls answer.
            #expect(try await Self.pull(port, "/api/v1/coder/next?wait=1", token: coder).status == 204)
        }
    }
}
