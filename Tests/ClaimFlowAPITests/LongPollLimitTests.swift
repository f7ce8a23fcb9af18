import ClaimFlowAPI
import ClaimFlowCore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Waiting pulls are bounded")
struct LongPollLimitTests {
    /// One pull on a connection of its own, as separate clients would send it.
    static func pull(
        _ port: Int, _ path: String, token: String
    ) async throws -> (
        status: Int, retryAfter: String?, connection: String?
    ) {
        try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(30))) { client in
            let response = try await client.execute(
                TestClient.Request(path, method: .post, headers: [.authorization: "Bearer \(token)"], body: nil))
            return (Int(response.status.code), response.headers[.retryAfter], response.headers[.connection])
        }
    }

    @Test(
        "beyond the per-user and the total limit a waiting pull is 429 with Retry-After at once; a pull that does not wait is never held back"
    )
    func limits() async throws {
        try await APIHarness.run(live: true, longPolls: LongPollLimits(perUser: 2, total: 3)) { h, c in
            let port = try #require(c.port)
            let (coder, biller) = (h.tokens[.coder]!, h.tokens[.biller]!)
            // Nothing waits in either queue, so each of these waits its 20 s and answers 204.
            let waiting = Task {
                try await withThrowingTaskGroup(of: (Int, ContinuousClock.Instant).self) { group in
                    for (path, token) in [
                        ("/api/v1/coder/next?wait=20", coder), ("/api/v1/coder/next?wait=20", coder),
                        ("/api/v1/biller/next?wait=20", biller),
                    ] {
                        group.addTask { (try await Self.pull(port, path, token: token).status, ContinuousClock.now) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            }
            // Until the server counts all three waiting (its /metrics gauge), however busy the machine.
            let deadline = ContinuousClock.now + .seconds(15)
            while ContinuousClock.now < deadline {
                let metrics = try await c.send(.get, "/metrics").body
                if metrics.contains("claimflow_long_polls_waiting 3") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let third = try await Self.pull(port, "/api/v1/coder/next?wait=20", token: coder)
            #expect(third.status == 429 && third.retryAfter == "1", "the user's limit: \(third)")
            let overTotal = try await Self.pull(port, "/api/v1/biller/next?wait=20", token: biller)
            #expect(overTotal.status == 429, "the server's limit: \(overTotal)")
            let refusedAt = ContinuousClock.now
            let noWait = try await Self.pull(port, "/api/v1/coder/next?wait=0", token: coder)
            #expect(noWait.status == 204, "a pull that does not wait")
            #expect(noWait.connection == nil, "a pull that does not wait keeps its connection")
            let answers = try await waiting.value
            #expect(answers.map(\.0) == [204, 204, 204])
            // Refused at once: before any of the waiting pulls had its answer.
            #expect(answers.allSatisfy { $0.1 > refusedAt }, "the refusals came while the others still waited")
            // The places are given back when the pulls answer. A waiting pull's connection was
            // watched for a hang-up, so it closes after the answer and says so.
            let again = try await Self.pull(port, "/api/v1/coder/next?wait=1", token: coder)
            #expect(again.status == 204 && again.connection == "close", "\(again)")
        }
    }

    /// Sends a pull on a socket of its own and hangs up once `waiting` says the server holds
    /// it, without reading an answer.
    static func hangUp(port: Int, path: String, token: String, once waiting: () async throws -> Bool) async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        let request = "POST \(path) HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(token)\r\nContent-Length: 0\r\n\r\n"
        let sent = request.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, request.utf8.count, 0) }
        try #require(sent == request.utf8.count)
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline, try await !waiting() { try await Task.sleep(for: .milliseconds(20)) }
    }

    @Test("a client that hangs up while its pull waits is handed nothing: the work that arrives goes to the next puller")
    func hungUpPullGetsNothing() async throws {
        try await APIHarness.run(live: true) { h, c in
            let port = try #require(c.port)
            func waiting() async throws -> Double? {
                let metrics = try await c.send(.get, "/metrics").body
                return metrics.split(separator: "\n").first { $0.hasPrefix("claimflow_long_polls_waiting ") }
                    .flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            // The coder asks for work, waits, and hangs up before any arrives: once the server
            // holds the pull (a client that hangs up before its request is even read is not
            // this case: see the README's notes on long polls).
            try await Self.hangUp(port: port, path: "/api/v1/coder/next?wait=20", token: h.tokens[.coder]!) {
                try await waiting() == 1
            }
            // The server lets go of the pull (its place is given back).
            let deadline = ContinuousClock.now + .seconds(15)
            while ContinuousClock.now < deadline, try await waiting() != 0 {
                try await Task.sleep(for: .milliseconds(100))
            }
            let left = try await waiting()
            #expect(left == 0, "the hung-up pull still holds its place: \(String(describing: left))")
            // Work that arrives now is nobody's: the hung-up pull took no lease.
            let encounter = try await h.fixture.receive("HUNG-UP")
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await h.fixture.count("SELECT count(*)::int FROM work_items WHERE lease_id IS NOT NULL") == 0)
            let next = try await c.send(.post, "/api/v1/coder/next?wait=0", token: h.tokens[.coder])
            #expect(next.status == 200, "\(next.body)")
            #expect(next.json["encounter"].flatMap { ($0 as? [String: Any])?["id"] as? String } == encounter.uuidString.lowercased())
        }
    }
}
