import ClaimFlowAPI
import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import Prometheus
import Testing

/// A migrated database with a practice, one user and token per role, and the application
/// running over the service role's connection (as in production).
struct APIHarness: Sendable {
    let fixture: Fixture
    /// The service's own client: connections run as `claimflow_app`.
    let service: PostgresClient
    let tokens: [Role: String]
    let users: [Role: UUID]
    let signals = WorkSignals()
    /// Failed authentications allowed per client address and minute. Router-mode requests
    /// have no client address and share one bucket, so only live harnesses keep the default.
    var authFailureLimit = Int.max
    /// This harness's own metrics: `GET /metrics` renders it, and the queue, the handoff worker
    /// and the sampler count into it, so a test reads exact values no other test touched.
    let metrics = PrometheusCollectorRegistry()

    var storeMetrics: StoreMetrics { StoreMetrics(factory: PrometheusMetrics.factory(for: metrics)) }

    /// Proxies whose `X-Forwarded-For` the application believes.
    var trustedProxies: Set<String> = []
    /// How many pulls may wait at once.
    var longPolls = LongPollLimits()
    /// Requests per token and minute.
    var tokenRequestLimit = ServerSettings.defaultTokenRequestLimit
    /// Live harnesses watch their connections, as `serve` does: a pull ends when its client hangs up.
    var cancelPullsOnHangUp = false

    static func run(
        live: Bool = false,
        maximumConnections: Int = 20,
        trustedProxies: Set<String> = [],
        longPolls: LongPollLimits = LongPollLimits(),
        tokenRequestLimit: Int = ServerSettings.defaultTokenRequestLimit,
        _ body: @Sendable (APIHarness, TestClientProtocolBox) async throws -> Void
    ) async throws {
        try await TestDatabase.withMigrated { owner, url in
            let fixture = try await Fixture.make(owner)
            var tokens: [Role: String] = [:]
            var users: [Role: UUID] = [:]
            for role in Role.allCases {
                let id = try await fixture.user(role.rawValue, roles: [role], skills: ["family_medicine", "cardiology"])
                users[role] = id
                tokens[role] = try await fixture.users.issueToken(userID: id, label: "test", audit: .system)
            }
            let (frozenTokens, frozenUsers) = (tokens, users)
            try await TestDatabase.withClient(url, maximumConnections: maximumConnections, role: DatabaseURL.serviceRole) { service in
                var configured = APIHarness(fixture: fixture, service: service, tokens: frozenTokens, users: frozenUsers)
                if live { configured.authFailureLimit = 20 }
                configured.trustedProxies = trustedProxies
                configured.longPolls = longPolls
                configured.tokenRequestLimit = tokenRequestLimit
                configured.cancelPullsOnHangUp = live
                let harness = configured
                // The notification listener runs, as in `serve`: it wakes waiting pulls and
                // keeps the principals cache honest (on only while it listens).
                let listener = Task {
                    try await TestDatabase.withListenClient(url, sharing: service) { listening in
                        try await WorkNotifier(client: listening, signals: harness.signals, logger: TestDatabase.logger).run()
                    }
                }
                defer { listener.cancel() }
                try await withDeadline(.seconds(20), "the notification listener") {
                    while !(await harness.signals.isListening) { try await Task.sleep(for: .milliseconds(10)) }
                }
                let app = harness.application()
                try await app.test(live ? .live : .router) { client in
                    try await body(harness, TestClientProtocolBox(client: client))
                }
            }
        }
    }

    var dependencies: AppDependencies {
        var dependencies = AppDependencies(
            client: service,
            queue: WorkQueue(client: service, logger: TestDatabase.logger, metrics: storeMetrics),
            signals: signals,
            logger: TestDatabase.logger,
            metrics: metrics,
            authFailureLimit: authFailureLimit,
            trustedProxies: trustedProxies,
            longPolls: longPolls,
            tokenRequestLimit: tokenRequestLimit
        )
        dependencies.cancelPullsOnHangUp = cancelPullsOnHangUp
        return dependencies
    }

    func application() -> some ApplicationProtocol {
        buildApplication(dependencies, settings: ServerSettings(host: "127.0.0.1", port: 0))
    }

    /// A valid intake body for this practice.
    func intakeBody(_ externalID: String, firstName: String = "Ada", documentation: String = "Follow-up, type 2 diabetes.") -> [String: Any]
    {
        [
            "practice_code": "TEST",
            "external_id": externalID,
            "patient": [
                "mrn": "MRN-\(externalID)", "first_name": firstName, "last_name": "Lovelace", "birth_date": "1960-12-10",
                "sex": "F",
                "address": ["line1": "1 Analytical Way", "city": "London", "state": "IL", "postal_code": "62701"],
            ],
            "coverage": ["payer_code": "PAYTEST", "member_id": "MEM-\(externalID)", "relationship": "18"],
            "rendering_provider_npi": "1234567893",
            "date_of_service": "2026-11-02",
            "place_of_service": "11",
            "specialty": "family_medicine",
            "priority": 0,
            "documentation": documentation,
        ]
    }

    static func codesBody() -> [String: Any] {
        [
            "diagnoses": ["E11.9", "I10"],
            "lines": [["code": "99213", "modifiers": ["25"], "units": 1, "charge": "125.00", "pointers": [1, 2]]],
        ]
    }
}

/// Wraps the HummingbirdTesting client so helpers can be shared by router and live tests.
struct TestClientProtocolBox: Sendable {
    let client: any TestClientProtocol

    /// The port of a live server (`.live` tests).
    var port: Int? { client.port }

    struct Reply: Sendable {
        let status: Int
        let headers: HTTPFields
        let body: String

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }
    }

    func send(
        _ method: HTTPRequest.Method,
        _ uri: String,
        token: String? = nil,
        json: Any? = nil,
        raw: String? = nil,
        contentType: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            let data = try JSONSerialization.data(withJSONObject: json)
            body = ByteBuffer(bytes: data)
            headers[.contentType] = contentType ?? "application/json"
        } else if let raw {
            body = ByteBuffer(string: raw)
            headers[.contentType] = contentType ?? "application/json"
        }
        let reply = try await client.execute(uri: uri, method: method, headers: headers, body: body) { response in
            Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: response.body))
        }
        ResponseLog.shared.record(method: method, uri: uri, reply: reply)
        return reply
    }
}

/// Every response the API tests see, one JSON line each, in the file `CLAIMFLOW_CONTRACT_LOG`
/// names: scripts/test then checks them all against openapi.yaml (Tests/contract).
final class ResponseLog: @unchecked Sendable {
    static let shared = ResponseLog(path: ProcessInfo.processInfo.environment["CLAIMFLOW_CONTRACT_LOG"])

    private let handle: FileHandle?
    private let lock = NSLock()

    init(path: String?) {
        guard let path, !path.isEmpty else {
            handle = nil
            return
        }
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        handle = FileHandle(forWritingAtPath: path)
        _ = try? handle?.seekToEnd()
    }

    func record(method: HTTPRequest.Method, uri: String, reply: TestClientProtocolBox.Reply) {
        guard let handle else { return }
        let entry: [String: Any] = [
            "method": method.rawValue, "uri": uri, "status": reply.status,
            "content_type": reply.headers[.contentType] ?? "", "body": reply.body,
        ]
        guard var line = try? JSONSerialization.data(withJSONObject: entry) else { return }
        line.append(UInt8(ascii: "\n"))
        lock.withLock { try? handle.write(contentsOf: line) }
    }
}

extension TestClientProtocolBox.Reply {
    func uuid(_ keyPath: String...) -> UUID? {
        var value: Any? = json
        for key in keyPath { value = (value as? [String: Any])?[key] }
        return (value as? String).flatMap(UUID.init(uuidString:))
    }
}
