import ClaimFlowAPI
import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// Issue 11: a write whose answer was lost can be sent again without being refused for its own
/// committed work, and one person cannot hoard the queue.
@Suite("Safe retries and fair share")
struct SafeRetryTests {
    static let keyHeader = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    static func keyed(_ key: String) -> HTTPFields { [keyHeader: key] }

    @Test("a keyed write sent again answers with the first answer and changes nothing")
    func keyedRetryReplays() async throws {
        try await APIHarness.run { h, c in
            let (id, lease) = try await leasedCoding(h, c)
            var codes = APIHarness.codesBody()
            codes["lease_id"] = lease.uuidString
            let token = h.tokens[.coder]
            let saveKey = "save-\(UUID().uuidString)"
            let saved = try await c.send(
                .put, "/api/v1/coder/encounters/\(id)/codes", token: token, json: codes, headers: Self.keyed(saveKey))
            #expect(saved.status == 200, "\(saved.body)")
            #expect(saved.headers[Self.replayedHeader] == nil)

            let completeKey = UUID().uuidString
            let body = ["lease_id": lease.uuidString]
            let first = try await c.send(
                .post, "/api/v1/coder/encounters/\(id)/complete", token: token, json: body, headers: Self.keyed(completeKey))
            #expect(first.status == 200, "\(first.body)")
            let before = try await TableSnapshot.ofWork(h.fixture.client)
            for _ in 0..<3 {
                let again = try await c.send(
                    .post, "/api/v1/coder/encounters/\(id)/complete", token: token, json: body, headers: Self.keyed(completeKey))
                #expect(again.status == 200, "\(again.body)")
                #expect(again.body == first.body)
                #expect(again.headers[Self.replayedHeader] == "true")
                let resaved = try await c.send(
                    .put, "/api/v1/coder/encounters/\(id)/codes", token: token, json: codes, headers: Self.keyed(saveKey))
                #expect(resaved.status == 200, "the codes' first answer, though the lease is gone: \(resaved.body)")
                #expect(resaved.body == saved.body)
            }
            #expect(try await TableSnapshot.ofWork(h.fixture.client) == before, "a replay writes nothing")
            #expect(
                try await h.fixture.count(
                    "SELECT count(*)::int FROM events WHERE encounter_id = \(id) AND action = 'coding.completed'") == 1)

            // A fresh key for the same stale request is a fresh write: refused, and nothing is kept for it.
            let fresh = try await c.send(
                .post, "/api/v1/coder/encounters/\(id)/complete", token: token, json: ["lease_id": UUID().uuidString],
                headers: Self.keyed(UUID().uuidString))
            #expect(fresh.status == 409, "\(fresh.body)")
            #expect(try await h.fixture.count("SELECT count(*)::int FROM idempotency_keys") == 2)
        }
    }

    @Test("the same key with another request is 422 idempotency-key-reused; a malformed key is 422 at the header")
    func reusedKeyIsRefused() async throws {
        try await APIHarness.run { h, c in
            let (id, lease) = try await leasedCoding(h, c)
            let token = h.tokens[.coder]
            var codes = APIHarness.codesBody()
            codes["lease_id"] = lease.uuidString
            let key = "k-\(UUID().uuidString)"
            #expect(
                try await c.send(.put, "/api/v1/coder/encounters/\(id)/codes", token: token, json: codes, headers: Self.keyed(key)).status
                    == 200)
            let before = try await TableSnapshot.ofWork(h.fixture.client)
            codes["diagnoses"] = ["I10"]
            let other = try await c.send(.put, "/api/v1/coder/encounters/\(id)/codes", token: token, json: codes, headers: Self.keyed(key))
            #expect(other.status == 422, "\(other.body)")
            #expect(other.json["type"] as? String == "https://claimflow.dev/problems/idempotency-key-reused")
            let otherOperation = try await c.send(
                .post, "/api/v1/coder/encounters/\(id)/complete", token: token, json: ["lease_id": lease.uuidString],
                headers: Self.keyed(key))
            #expect(otherOperation.status == 422, "\(otherOperation.body)")
            #expect(otherOperation.json["type"] as? String == "https://claimflow.dev/problems/idempotency-key-reused")
            #expect(try await TableSnapshot.ofWork(h.fixture.client) == before, "a refused reuse writes nothing")

            for bad in ["has space", String(repeating: "x", count: 201), "é"] {
                let reply = try await c.send(
                    .post, "/api/v1/coder/encounters/\(id)/complete", token: token, json: ["lease_id": lease.uuidString],
                    headers: Self.keyed(bad))
                #expect(reply.status == 422, "\(bad): \(reply.body)")
                let paths = (reply.json["findings"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
                #expect(paths == ["header.Idempotency-Key"], "\(reply.body)")
            }
            #expect(try await h.fixture.encounters.stage(of: id) == .coding)
        }
    }

    @Test("without a key, a complete or submit sent again by the lease that made it is 200, not 409; another lease still 409")
    func unkeyedReplayOfFinishedWork() async throws {
        try await APIHarness.run { h, c in
            let (id, lease) = try await leasedCoding(h, c)
            let token = h.tokens[.coder]
            var codes = APIHarness.codesBody()
            codes["lease_id"] = lease.uuidString
            #expect(try await c.send(.put, "/api/v1/coder/encounters/\(id)/codes", token: token, json: codes).status == 200)
            let first = try await c.send(
                .post, "/api/v1/coder/encounters/\(id)/complete", token: token, json: ["lease_id": lease.uuidString])
            #expect(first.status == 200, "\(first.body)")
            let before = try await TableSnapshot.ofWork(h.fixture.client)
            let again = try await c.send(
                .post, "/api/v1/coder/encounters/\(id)/complete", token: token, json: ["lease_id": lease.uuidString])
            #expect(again.status == 200, "\(again.body)")
            #expect(again.body == first.body)
            #expect(try await TableSnapshot.ofWork(h.fixture.client) == before)
            let stranger = try await c.send(
                .post, "/api/v1/coder/encounters/\(id)/complete", token: token, json: ["lease_id": UUID().uuidString])
            #expect(stranger.status == 409, "\(stranger.body)")

            let (claim, billing) = try await leasedBilling(h, c)
            let submitted = try await c.send(
                .post, "/api/v1/biller/claims/\(claim)/submit", token: h.tokens[.biller], json: ["lease_id": billing.uuidString])
            #expect(submitted.status == 200, "\(submitted.body)")
            let resubmitted = try await c.send(
                .post, "/api/v1/biller/claims/\(claim)/submit", token: h.tokens[.biller], json: ["lease_id": billing.uuidString])
            #expect(resubmitted.status == 200, "\(resubmitted.body)")
            #expect(resubmitted.body == submitted.body)
            let otherLease = try await c.send(
                .post, "/api/v1/biller/claims/\(claim)/submit", token: h.tokens[.biller], json: ["lease_id": UUID().uuidString])
            #expect(otherLease.status == 409, "\(otherLease.body)")
            #expect(
                try await h.fixture.count("SELECT count(*)::int FROM events WHERE action = 'claim.submitted'") == 1)
        }
    }

    @Test("repeated coder/next answers with the held encounter under the same lease; a raised cap allows more")
    func fairShare() async throws {
        try await APIHarness.run { h, c in
            for number in 0..<4 { try await h.fixture.receive("FAIR-\(number)") }
            let token = h.tokens[.coder]
            let first = try await c.send(.post, "/api/v1/coder/next", token: token)
            #expect(first.status == 200, "\(first.body)")
            let held = try #require(first.uuid("encounter", "id"))
            let lease = try #require(first.uuid("lease", "id"))
            for _ in 0..<5 {
                let again = try await c.send(.post, "/api/v1/coder/next", token: token)
                #expect(again.uuid("encounter", "id") == held)
                #expect(again.uuid("lease", "id") == lease)
            }
            #expect(try await h.fixture.count("SELECT count(*)::int FROM work_items WHERE lease_holder IS NOT NULL") == 1)
            #expect(try await h.fixture.count("SELECT count(*)::int FROM events WHERE action = 'work.pulled'") == 1)

            let raised = try await c.send(
                .put, "/api/v1/admin/practices/TEST/lease-cap", token: h.tokens[.admin], json: ["lease_cap": 2])
            #expect(raised.status == 200, "\(raised.body)")
            #expect(raised.json["lease_cap"] as? Int == 2)
            let second = try await c.send(.post, "/api/v1/coder/next", token: token)
            let secondID = try #require(second.uuid("encounter", "id"))
            #expect(secondID != held)
            let third = try await c.send(.post, "/api/v1/coder/next", token: token)
            #expect(third.uuid("encounter", "id") == held, "at the cap of 2, the oldest held one again")
            #expect(try await h.fixture.count("SELECT count(*)::int FROM work_items WHERE lease_holder IS NOT NULL") == 2)

            // Finishing one frees a place: the next pull is new work.
            #expect(
                try await c.send(
                    .post, "/api/v1/coder/encounters/\(held)/release", token: token,
                    json: ["lease_id": lease.uuidString, "reason": "break"]
                ).status == 200)
            let fourth = try await c.send(.post, "/api/v1/coder/next", token: token)
            #expect(fourth.uuid("encounter", "id") != secondID)
            #expect(try await h.fixture.count("SELECT count(*)::int FROM work_items WHERE lease_holder IS NOT NULL") == 2)

            let refused = try await c.send(
                .put, "/api/v1/admin/practices/TEST/lease-cap", token: h.tokens[.admin], json: ["lease_cap": 0])
            #expect(refused.status == 422)
        }
    }

    @Test("a keyed pull sent again answers with the same lease")
    func keyedPull() async throws {
        try await APIHarness.run { h, c in
            try await h.fixture.receive("PULL-1")
            try await h.fixture.receive("PULL-2")
            #expect(
                try await c.send(.put, "/api/v1/admin/practices/TEST/lease-cap", token: h.tokens[.admin], json: ["lease_cap": 5]).status
                    == 200)
            let key = UUID().uuidString
            let first = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder], headers: Self.keyed(key))
            #expect(first.status == 200)
            let again = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder], headers: Self.keyed(key))
            #expect(again.uuid("lease", "id") == first.uuid("lease", "id"), "even under a cap that would lease more")
            #expect(again.headers[Self.replayedHeader] == "true")
            #expect(try await h.fixture.count("SELECT count(*)::int FROM work_items WHERE lease_holder IS NOT NULL") == 1)
            let other = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder], headers: Self.keyed(UUID().uuidString))
            #expect(other.uuid("lease", "id") != first.uuid("lease", "id"))
        }
    }
}
