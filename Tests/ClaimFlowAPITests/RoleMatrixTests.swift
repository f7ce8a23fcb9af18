import ClaimFlowAPI
import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import ClaimFlowWorkers
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// One route: who may call it, what it answers when they do, and how to build a real
/// request for it.
struct RouteCase: Sendable {
    let method: HTTPRequest.Method
    let path: String
    let role: Role
    /// Other roles the route also admits (the matrix expects neither 401 nor 403 for them).
    var also: Set<Role> = []
    let success: Int
    let request: @Sendable (APIHarness, TestClientProtocolBox) async throws -> (uri: String, json: Any?, raw: String?, type: String?)
}

@Suite("Role matrix")
struct RoleMatrixTests {
    static let unknown = "00000000-0000-4000-8000-000000000000"

    /// Every authenticated route of the router, with a working request for its role.
    static let cases: [RouteCase] = [
        RouteCase(method: .post, path: "/api/v1/encounters", role: .intake, success: 201) { h, _ in
            ("/api/v1/encounters", h.intakeBody("M-\(UUID().uuidString.prefix(8))"), nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/encounters/batch", role: .intake, success: 200) { h, _ in
            let line = try JSONSerialization.data(withJSONObject: h.intakeBody("B-\(UUID().uuidString.prefix(8))"))
            return ("/api/v1/encounters/batch", nil, String(decoding: line, as: UTF8.self), "application/x-ndjson")
        },
        RouteCase(method: .post, path: "/api/v1/coder/next", role: .coder, success: 200) { h, _ in
            try await h.fixture.receive("N-\(UUID().uuidString.prefix(8))")
            return ("/api/v1/coder/next", nil, nil, nil)
        },
        RouteCase(method: .put, path: "/api/v1/coder/encounters/{id}/codes", role: .coder, success: 200) { h, c in
            let (id, lease) = try await leasedCoding(h, c)
            var body = APIHarness.codesBody()
            body["lease_id"] = lease.uuidString
            return ("/api/v1/coder/encounters/\(id)/codes", body, nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/coder/encounters/{id}/complete", role: .coder, success: 200) { h, c in
            let (id, lease) = try await leasedCoding(h, c)
            return ("/api/v1/coder/encounters/\(id)/complete", ["lease_id": lease.uuidString], nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/coder/encounters/{id}/query", role: .coder, success: 200) { h, c in
            let (id, lease) = try await leasedCoding(h, c)
            return ("/api/v1/coder/encounters/\(id)/query", ["lease_id": lease.uuidString, "question": "Which knee?"], nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/coder/encounters/{id}/release", role: .coder, success: 200) { h, c in
            let (id, lease) = try await leasedCoding(h, c)
            return ("/api/v1/coder/encounters/\(id)/release", ["lease_id": lease.uuidString, "reason": "break"], nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/coder/encounters/{id}/heartbeat", role: .coder, success: 200) { h, c in
            let (id, lease) = try await leasedCoding(h, c)
            return ("/api/v1/coder/encounters/\(id)/heartbeat", ["lease_id": lease.uuidString], nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/biller/next", role: .biller, success: 200) { h, _ in
            try await readyClaim(h)
            return ("/api/v1/biller/next", nil, nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/biller/claims/{id}", role: .biller, success: 200) { h, _ in
            ("/api/v1/biller/claims/\(try await readyClaim(h))", nil, nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/biller/claims/{id}/x12", role: .biller, success: 200) { h, _ in
            ("/api/v1/biller/claims/\(try await readyClaim(h))/x12", nil, nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/acknowledgments", role: .biller, success: 200) { h, _ in
            let pcn = try await sentClaim(h)
            return ("/api/v1/acknowledgments", nil, X12AnswerFiles.claimAcknowledgment([(pcn, true)]), "application/edi-x12")
        },
        RouteCase(method: .post, path: "/api/v1/remittances", role: .biller, success: 200) { h, _ in
            let pcn = try await sentClaim(h)
            return ("/api/v1/remittances", nil, X12AnswerFiles.remittance([(pcn, 90, nil)]), "application/edi-x12")
        },
        RouteCase(method: .get, path: "/api/v1/biller/claims/{id}/money", role: .biller, success: 200) { h, _ in
            ("/api/v1/biller/claims/\(try await readyClaim(h))/money", nil, nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/biller/exceptions", role: .biller, success: 200) { _, _ in
            ("/api/v1/biller/exceptions?status=all", nil, nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/biller/exceptions/{id}/resolve", role: .biller, success: 200) { h, _ in
            let id = try await remittanceException(h.fixture)
            return ("/api/v1/biller/exceptions/\(id)/resolve", ["resolution": "posted by hand"], nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/biller/denials", role: .biller, success: 200) { _, _ in
            ("/api/v1/biller/denials?queue=billing", nil, nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/biller/claims/{id}/submit", role: .biller, success: 200) { h, c in
            let (claim, lease) = try await leasedBilling(h, c)
            return ("/api/v1/biller/claims/\(claim)/submit", ["lease_id": lease.uuidString], nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/biller/claims/{id}/return", role: .biller, success: 200) { h, c in
            let (claim, lease) = try await leasedBilling(h, c)
            return ("/api/v1/biller/claims/\(claim)/return", ["lease_id": lease.uuidString, "reason": "wrong modifier"], nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/supervisor/queues", role: .supervisor, success: 200) { _, _ in
            ("/api/v1/supervisor/queues", nil, nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/supervisor/productivity", role: .supervisor, success: 200) { _, _ in
            ("/api/v1/supervisor/productivity?from=2026-11-01&to=2026-11-30", nil, nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/supervisor/scrubber", role: .supervisor, success: 200) { _, _ in
            ("/api/v1/supervisor/scrubber?from=2026-11-01&to=2026-11-30", nil, nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/supervisor/users", role: .supervisor, success: 200) { _, _ in
            ("/api/v1/supervisor/users", nil, nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/supervisor/failures", role: .supervisor, success: 200) { h, _ in
            _ = try await parkedFailure(h.fixture, "F-\(UUID().uuidString.prefix(8))")
            return ("/api/v1/supervisor/failures", nil, nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/supervisor/failures/{id}/retry", role: .supervisor, success: 200) { h, _ in
            let id = try await parkedFailure(h.fixture, "R-\(UUID().uuidString.prefix(8))")
            return ("/api/v1/supervisor/failures/\(id)/retry", nil, nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/supervisor/work", role: .supervisor, success: 200) { _, _ in
            ("/api/v1/supervisor/work?queue=coding&limit=10", nil, nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/supervisor/work/{id}/reassign", role: .supervisor, success: 200) { h, _ in
            let id = try await h.fixture.receive("R-\(UUID().uuidString.prefix(8))")
            return ("/api/v1/supervisor/work/\(id)/reassign", ["to_user": h.users[.coder]!.uuidString, "reason": "balance"], nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/supervisor/work/{id}/release", role: .supervisor, success: 200) { h, c in
            let (id, _) = try await leasedCoding(h, c)
            return ("/api/v1/supervisor/work/\(id)/release", ["reason": "rebalance"], nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/supervisor/work/{id}/priority", role: .supervisor, success: 200) { h, _ in
            let id = try await h.fixture.receive("P-\(UUID().uuidString.prefix(8))")
            return ("/api/v1/supervisor/work/\(id)/priority", ["priority": 80, "reason": "timely filing"], nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/encounters/{id}/answer", role: .intake, also: [.supervisor], success: 200) { h, c in
            let (id, lease) = try await leasedCoding(h, c)
            let asked = try await c.send(
                .post, "/api/v1/coder/encounters/\(id)/query", token: h.tokens[.coder],
                json: ["lease_id": lease.uuidString, "question": "Left or right knee?"]
            )
            #expect(asked.status == 200)
            return ("/api/v1/encounters/\(id)/answer", ["answer": "Right knee."], nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/encounters/{id}/history", role: .supervisor, success: 200) { h, _ in
            let id = try await h.fixture.receive("H-\(UUID().uuidString.prefix(8))")
            return ("/api/v1/encounters/\(id)/history", nil, nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/admin/users", role: .admin, success: 200) { _, _ in
            ("/api/v1/admin/users", nil, nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/admin/users", role: .admin, success: 201) { _, _ in
            let body: [String: Any] = [
                "username": "new-\(UUID().uuidString.prefix(6).lowercased())", "display_name": "New Coder",
                "roles": ["coder"], "practices": ["TEST"], "skills": ["family_medicine"],
            ]
            return ("/api/v1/admin/users", body, nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/admin/users/{id}/tokens", role: .admin, success: 200) { h, _ in
            ("/api/v1/admin/users/\(h.users[.coder]!)/tokens", nil, nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/admin/users/{id}/tokens", role: .admin, success: 201) { h, _ in
            ("/api/v1/admin/users/\(h.users[.biller]!)/tokens", ["label": "laptop"], nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/admin/users/{id}/tokens/{token}/revoke", role: .admin, success: 200) { h, _ in
            let user = try await h.fixture.user("spare-\(UUID().uuidString.prefix(6).lowercased())")
            _ = try await h.fixture.users.issueToken(userID: user, label: "x", audit: .system)
            let token = try #require(try await h.fixture.users.tokens(of: user).first)
            return ("/api/v1/admin/users/\(user)/tokens/\(token.id)/revoke", nil, nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/admin/practices", role: .admin, success: 200) { _, _ in
            ("/api/v1/admin/practices", nil, nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/admin/practices", role: .admin, success: 201) { _, _ in
            let body: [String: Any] = [
                "code": "N\(Int.random(in: 1000...9999))", "name": "North Clinic", "npi": "1234567893", "tax_id": "987654321",
                "taxonomy": "207Q00000X",
                "address": ["line1": "2 North St", "city": "Northfield", "state": "MN", "postal_code": "550571234"],
            ]
            return ("/api/v1/admin/practices", body, nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/admin/practices/{code}/providers", role: .admin, success: 200) { _, _ in
            ("/api/v1/admin/practices/TEST/providers", nil, nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/admin/practices/{code}/providers", role: .admin, success: 201) { _, _ in
            let npi = NPI.withCheckDigit(firstNine: String(Int.random(in: 100_000_000...999_999_999)))!.digits
            return ("/api/v1/admin/practices/TEST/providers", ["npi": npi, "first_name": "Grace", "last_name": "Hopper"], nil, nil)
        },
        RouteCase(method: .put, path: "/api/v1/admin/practices/{code}/lease-cap", role: .admin, success: 200) { _, _ in
            ("/api/v1/admin/practices/TEST/lease-cap", ["lease_cap": 1], nil, nil)
        },
        RouteCase(method: .get, path: "/api/v1/admin/payers", role: .admin, success: 200) { _, _ in
            ("/api/v1/admin/payers", nil, nil, nil)
        },
        RouteCase(method: .post, path: "/api/v1/admin/payers", role: .admin, success: 201) { _, _ in
            ("/api/v1/admin/payers", ["payer_code": "P\(UUID().uuidString.prefix(8))", "name": "Payer", "filing_limit_days": 90], nil, nil)
        },
    ]

    /// A parked handoff failure of a new encounter of `fixture`'s practice, as the handoff
    /// worker leaves one after its last attempt; returns the failure's id.
    static func parkedFailure(_ fixture: Fixture, _ externalID: String) async throws -> UUID {
        let encounter = try await fixture.receive(externalID)
        let rows = try await fixture.client.query(
            """
            INSERT INTO worker_failures (encounter_id, practice_id, worker, kind, attempts, last_error, parked_at)
            VALUES (\(encounter), \(fixture.practiceID), 'handoff', 'handoff_error', 5, 'SQLSTATE P0001', now())
            RETURNING id
            """,
            logger: TestDatabase.logger
        )
        for try await id in rows.decode(UUID.self) { return id }
        throw TestSetupError("no failure inserted")
    }

    @Test("every route x every role, and no, bad or revoked tokens: exactly 2xx, 401 or 403")
    func matrix() async throws {
        try await APIHarness.run { h, c in
            // The matrix covers the router exactly: a new route without a row here fails.
            let routed = Set(buildRouter(h.dependencies).routes.map { "\($0.method) \($0.path)" })
            let open: Set<String> = [
                "GET /healthz", "GET /readyz", "GET /openapi.yaml", "GET /metrics", "GET /dashboard", "GET /dashboard/{file}",
            ]
            #expect(Set(Self.cases.map { "\($0.method) \($0.path)" }) == routed.subtracting(open))

            let revoked = try await h.fixture.users.issueToken(userID: h.users[.admin]!, label: "revoked", audit: .system)
            try await h.fixture.users.revokeTokens(userID: h.users[.admin]!, label: "revoked", audit: .system)

            for route in Self.cases {
                let placeholder = route.path.replacingOccurrences(of: "{id}", with: Self.unknown)
                    .replacingOccurrences(of: "{token}", with: Self.unknown).replacingOccurrences(of: "{code}", with: "TEST")
                for (name, token) in [("no token", nil), ("bad token", "cf_not-a-token"), ("revoked token", revoked)] {
                    let reply = try await c.send(route.method, placeholder, token: token, json: [String: Any]())
                    #expect(reply.status == 401, "\(route.method) \(route.path) with \(name): \(reply.status)")
                    #expect(reply.headers[.contentType] == "application/problem+json")
                }
                for role in Role.allCases where role != route.role && !route.also.contains(role) {
                    let reply = try await c.send(route.method, placeholder, token: h.tokens[role], json: [String: Any]())
                    #expect(reply.status == 403, "\(route.method) \(route.path) as \(role): \(reply.status) \(reply.body)")
                }
                let request = try await route.request(h, c)
                let reply = try await c.send(
                    route.method, request.uri, token: h.tokens[route.role], json: request.json, raw: request.raw,
                    contentType: request.type
                )
                #expect(reply.status == route.success, "\(route.method) \(route.path) as \(route.role): \(reply.status) \(reply.body)")
            }
            for path in ["/healthz", "/readyz", "/openapi.yaml", "/metrics", "/dashboard", "/dashboard/dashboard.html"] {
                #expect(try await c.send(.get, path).status == 200, "\(path) without a token")
            }
        }
    }

    @Test("another practice's encounters, claims, users and codes are 404 on every route that names one; its answers apply to nothing")
    func otherPracticeIsNotFound() async throws {
        try await APIHarness.run { h, c in
            let other = try await Fixture.make(h.fixture.client, code: "OTHER")
            let (otherCoder, otherBiller) = (try await other.user("other-coder"), try await other.user("other-biller", roles: [.biller]))
            let encounter = try await other.receive("FOREIGN")
            let claim = try await other.submittedClaim("FOREIGN-CLAIM", coder: otherCoder, biller: otherBiller)
            _ = try await SubmissionBatcher(
                client: h.service, queue: h.fixture.queue,
                outbox: FileManager.default.temporaryDirectory.appending(path: "claimflow-foreign-\(UUID().uuidString)"),
                settings: X12Settings(), logger: TestDatabase.logger
            ).runOnce()
            _ = try await other.users.issueToken(userID: otherCoder, label: "foreign", audit: .system)
            let token = try #require(try await other.users.tokens(of: otherCoder).first).id
            let pcn = X12Claim.patientControlNumber(for: claim)
            let lease: [String: Any] = ["lease_id": Self.unknown]
            let foreignException = try await remittanceException(other)
            // The id each templated route gets: the foreign encounter, claim, user, token or practice.
            let foreignFailure = try await Self.parkedFailure(other, "FOREIGN-FAILURE")
            let ids =
                ["encounters": encounter, "work": encounter, "claims": claim, "users": otherCoder, "failures": foreignFailure]
                as [String: any Sendable]
            let exceptionIDs = ["exceptions": foreignException]
            let bodies: [String: Any] = [
                "PUT /api/v1/coder/encounters/{id}/codes": lease.merging(APIHarness.codesBody()) { $1 },
                "POST /api/v1/coder/encounters/{id}/query": lease.merging(["question": "Which knee?"]) { $1 },
                "POST /api/v1/coder/encounters/{id}/release": lease,
                "POST /api/v1/biller/claims/{id}/return": lease.merging(["reason": "wrong modifier"]) { $1 },
                "POST /api/v1/supervisor/work/{id}/reassign": ["to_user": h.users[.coder]!.uuidString, "reason": "balance"],
                "POST /api/v1/supervisor/work/{id}/release": ["reason": "stuck"],
                "POST /api/v1/supervisor/work/{id}/priority": ["priority": 5, "reason": "filing limit"],
                "POST /api/v1/encounters/{id}/answer": ["answer": "Right knee."],
                "POST /api/v1/admin/users/{id}/tokens": ["label": "stolen"],
                "POST /api/v1/biller/exceptions/{id}/resolve": ["resolution": "written off"],
                "POST /api/v1/admin/practices/{code}/providers": ["npi": "1234567893", "first_name": "Eve", "last_name": "Mallory"],
                "PUT /api/v1/admin/practices/{code}/lease-cap": ["lease_cap": 50],
            ]
            let before = try await TableSnapshot.ofWork(h.fixture.client)
            let templated = Self.cases.filter { $0.path.contains("{") }
            #expect(templated.count == 23, "every route that names a resource")
            for route in templated {
                let segments = route.path.split(separator: "/").map(String.init)
                var uri = ""
                for (index, segment) in segments.enumerated() {
                    switch segment {
                    case "{id}": uri += "/\(ids[segments[index - 1]] ?? exceptionIDs[segments[index - 1]]!)"
                    case "{token}": uri += "/\(token)"
                    case "{code}": uri += "/OTHER"
                    default: uri += "/\(segment)"
                    }
                }
                let key = "\(route.method) \(route.path)"
                let body: Any? = route.method == .get ? nil : (bodies[key] ?? lease)
                let reply = try await c.send(route.method, uri, token: h.tokens[route.role], json: body)
                #expect(reply.status == 404, "\(key) as \(route.role): \(reply.status) \(reply.body)")
            }
            // Every route that lists rather than names (each GET without an id in its path, with
            // the filters that widen it most) answers the caller's practice alone: none of the
            // other practice's ids, codes or user names appears in any answer.
            let foreign = [
                encounter.uuidString.lowercased(), claim.uuidString.lowercased(), otherCoder.uuidString.lowercased(),
                otherBiller.uuidString.lowercased(), pcn, "other-coder", "other-biller", "FOREIGN",
            ]
            let lists = Self.cases.filter { $0.method == .get && !$0.path.contains("{") }
            #expect(lists.count >= 10, "the list routes")
            for route in lists {
                let query =
                    [
                        "/api/v1/supervisor/work": "?limit=500", "/api/v1/biller/exceptions": "?status=all",
                        "/api/v1/supervisor/productivity": "?from=2000-01-01&to=2100-12-31",
                        "/api/v1/supervisor/scrubber": "?from=2000-01-01&to=2100-12-31",
                    ][route.path] ?? ""
                let reply = try await c.send(.get, route.path + query, token: h.tokens[route.role])
                #expect(reply.status == 200, "\(route.path): \(reply.status) \(reply.body)")
                for id in foreign {
                    #expect(!reply.body.contains(id), "\(route.path) as \(route.role) shows the other practice's \(id)")
                }
            }
            // Answers naming the foreign claim find no claim of the caller's: the acknowledgment
            // lists it as unmatched, the remittance sets it aside as an exception of the caller's.
            let ack = try await c.send(
                .post, "/api/v1/acknowledgments", token: h.tokens[.biller], raw: X12AnswerFiles.claimAcknowledgment([(pcn, false)]),
                contentType: "application/edi-x12")
            #expect(ack.status == 200, "\(ack.body)")
            #expect((ack.json["claims"] as? [Any])?.isEmpty == true)
            #expect(
                ((ack.json["unmatched"] as? [[String: Any]])?.first?["reason"] as? String)?.contains(
                    "no claim sent by ClaimFlow has patient control number \(pcn)") == true, "\(ack.body)")
            let remit = try await c.send(
                .post, "/api/v1/remittances", token: h.tokens[.biller], raw: X12AnswerFiles.remittance([(pcn, 125, nil)]),
                contentType: "application/edi-x12")
            #expect(remit.status == 200, "\(remit.body)")
            #expect(((remit.json["exceptions"] as? [[String: Any]])?.first?["kind"] as? String) == "unknown_claim", "\(remit.body)")
            let after = try await TableSnapshot.ofWork(h.fixture.client)
            #expect(
                after.differences(from: before).sorted() == ["remittance_exceptions", "remittances"],
                "nothing of the other practice changed")
            #expect(try await other.encounters.stage(of: encounter) == .readyToCode)
            #expect(try await other.users.tokens(of: otherCoder).count == 1)
        }
    }
}

/// A coding lease held by the harness's coder through the API: (encounter id, lease id).
func leasedCoding(_ h: APIHarness, _ c: TestClientProtocolBox) async throws -> (UUID, UUID) {
    try await h.fixture.receive("L-\(UUID().uuidString.prefix(8))")
    let reply = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder])
    #expect(reply.status == 200, "coder/next: \(reply.status) \(reply.body)")
    return (try #require(reply.uuid("encounter", "id")), try #require(reply.uuid("lease", "id")))
}

/// A coded encounter handed off to billing (the handoff worker's store call): its claim id.
/// Coded by a coder of its own, so the harness's coder keeps its fair share for the test.
@discardableResult
func readyClaim(_ h: APIHarness) async throws -> UUID {
    let fixture = h.fixture
    let coder = try await fixture.user("claim-coder")
    let id = try await fixture.receive("C-\(UUID().uuidString.prefix(8))", priority: 100)
    let lease = try #require(try await fixture.queue.pullNext(userID: coder, queue: .coding, audit: .system))
    #expect(lease.encounterID == id)
    try await CodingStore(client: fixture.client, logger: TestDatabase.logger, queue: fixture.queue).saveDraft(
        encounterID: id, leaseID: lease.id, holder: coder,
        codes: CodeAssignment(diagnoses: ["E119"], lines: [ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1])]),
        audit: .system
    )
    try await fixture.queue.finish(
        encounterID: id, leaseID: lease.id, holder: coder, queue: .coding, to: .coded, action: "coding.completed", audit: .system
    )
    return try await ClaimStore(client: fixture.client, logger: TestDatabase.logger, queue: fixture.queue)
        .handOff(encounterID: id, audit: .system)
}

/// A claim submitted and written out in an interchange: its patient control number.
func sentClaim(_ h: APIHarness) async throws -> String {
    let claim = try await h.fixture.submittedClaim(
        "S-\(UUID().uuidString.prefix(8))", coder: h.users[.coder]!, biller: h.users[.biller]!
    )
    _ = try await SubmissionBatcher(
        client: h.service, queue: h.fixture.queue,
        outbox: FileManager.default.temporaryDirectory.appending(path: "claimflow-matrix-\(UUID().uuidString)"),
        settings: X12Settings(), logger: TestDatabase.logger
    ).runOnce()
    return X12Claim.patientControlNumber(for: claim)
}

/// An open remittance exception of `fixture`'s practice: an 835 for one of its claims that does
/// not balance. Returns the exception's id.
func remittanceException(_ fixture: Fixture) async throws -> Int64 {
    let claim = try await fixture.submittedClaim(
        "X-\(UUID().uuidString.prefix(8))", coder: try await fixture.user("x-coder-\(UUID().uuidString.prefix(6).lowercased())"),
        biller: try await fixture.user("x-biller-\(UUID().uuidString.prefix(6).lowercased())", roles: [.biller]))
    try await fixture.recordInterchange()
    let pcn = X12Claim.patientControlNumber(for: claim)
    let text = X12AnswerFiles.payment(
        total: 100, check: "EFT-\(UUID().uuidString.prefix(8))", claims: [["CLP*\(pcn)*1*125*100*0*12*PCN-X*11*1"]])
    let posting = try await fixture.postRemittance(text)
    return try #require(posting.exceptions.first { $0.kind == "out_of_balance" }).id
}

/// A claim leased to the harness's biller through the API: (claim id, lease id).
func leasedBilling(_ h: APIHarness, _ c: TestClientProtocolBox) async throws -> (UUID, UUID) {
    try await readyClaim(h)
    let reply = try await c.send(.post, "/api/v1/biller/next", token: h.tokens[.biller])
    #expect(reply.status == 200, "biller/next: \(reply.status) \(reply.body)")
    return (try #require(reply.uuid("claim", "id")), try #require(reply.uuid("lease", "id")))
}
