import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Coders and billers racing through their queues over HTTP against a running server, for the
/// fault tests: each loop is bounded in requests and stops when ``LoadSwitch`` is turned off.
enum FaultLoad {
    /// How long a client waits for an answer: well past what the server takes through an outage
    /// (503 at once, or 2 s after it gives a request up), so a timeout here is a hang.
    static let clientTimeout: Duration = .seconds(45)
    /// No connection of a loop runs more than this many steps (a step is a few requests).
    static let stepsPerConnection = 1000

    /// The codes every coder assigns: they pass every handoff rule on an empty code set.
    static func codes(lease: String) -> [String: Any] {
        ["lease_id": lease, "diagnoses": ["E11.9"], "lines": [["code": "99213", "units": 1, "charge": "125.00", "pointers": [1]]]]
    }

    /// Runs one coding loop per coder token and one billing loop per biller token until `power`
    /// is turned off, recording every request in `tally`.
    static func run(port: Int, coders: [String], billers: [String], power: LoadSwitch, tally: LoadTally) async {
        await withTaskGroup(of: Void.self) { group in
            for token in coders {
                group.addTask {
                    await loop(port: port, power: power, tally: tally) { try await codeOne($0, token: token, power: power, tally: tally) }
                }
            }
            for token in billers {
                group.addTask {
                    await loop(port: port, power: power, tally: tally) { try await billOne($0, token: token, power: power, tally: tally) }
                }
            }
        }
    }

    /// Repeats `step` on one connection, opening a new one after a transport error, while `power` is on.
    private static func loop(
        port: Int, power: LoadSwitch, tally: LoadTally, _ step: @escaping @Sendable (FaultClient) async throws -> Void
    ) async {
        // Bounded twice over: steps per connection, and connections.
        for _ in 0..<200 {
            guard await power.isOn else { return }
            do {
                try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: clientTimeout)) { client in
                    let api = FaultClient(client: client, tally: tally, port: port)
                    for _ in 0..<stepsPerConnection {
                        guard await power.isOn else { return }
                        try await step(api)
                    }
                }
            } catch {
                // Recorded by FaultClient; a failed connect is one too. Pause before reconnecting.
                if !(error is FaultClient.Unanswered) { await tally.transportError(error) }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Pulls one encounter, codes it and completes it; a 503 is retried after a short pause
    /// (a client honouring `Retry-After`, made quicker for the test).
    private static func codeOne(_ api: FaultClient, token: String, power: LoadSwitch, tally: LoadTally) async throws {
        let next = try await api.pull("/api/v1/coder/next?wait=1", token: token)
        guard next.status == 200, let encounter = next.string("encounter", "id"), let lease = next.string("lease", "id") else {
            if next.status != 204 { try await Task.sleep(for: .milliseconds(200)) }
            return
        }
        await tally.leased(lease)
        let saved = try await api.retrying(power) {
            try await api.send(.put, "/api/v1/coder/encounters/\(encounter)/codes", token: token, json: codes(lease: lease))
        }
        guard saved?.status == 200 else { return }
        let completed = try await api.retrying(power) {
            try await api.send(.post, "/api/v1/coder/encounters/\(encounter)/complete", token: token, json: ["lease_id": lease])
        }
        if completed?.status == 200 { await tally.completed(encounter) }
    }

    /// Pulls one claim and submits it.
    private static func billOne(_ api: FaultClient, token: String, power: LoadSwitch, tally: LoadTally) async throws {
        let next = try await api.pull("/api/v1/biller/next?wait=1", token: token)
        guard next.status == 200, let claim = next.string("claim", "id"), let lease = next.string("lease", "id") else {
            if next.status != 204 { try await Task.sleep(for: .milliseconds(200)) }
            return
        }
        await tally.leased(lease)
        let submitted = try await api.retrying(power) {
            try await api.send(.post, "/api/v1/biller/claims/\(claim)/submit", token: token, json: ["lease_id": lease])
        }
        if submitted?.status == 200 { await tally.submitted(claim) }
    }

    /// Checks the database against what the clients were told: every 2xx completion and
    /// submission is there, nothing is coded or submitted twice. Returns (rows checked, lost, duplicates).
    static func audit(_ url: DatabaseURL, tally: LoadTally) async throws -> (checked: Int, lost: Int, duplicates: Int) {
        print("stages: \(try await stages(url))")
        let completed = await tally.completedEncounters.compactMap(UUID.init(uuidString:))
        let submitted = await tally.submittedClaims.compactMap(UUID.init(uuidString:))
        return try await TestDatabase.withClient(url, maximumConnections: 1) { client in
            func count(_ query: PostgresQuery) async throws -> Int {
                for try await value in try await client.query(query, logger: TestDatabase.logger).decode(Int.self) { return value }
                return 0
            }
            let coded = try await count(
                "SELECT count(DISTINCT encounter_id)::int FROM events WHERE to_stage = 'coded' AND encounter_id = ANY(\(completed))")
            let sent = try await count(
                "SELECT count(*)::int FROM claims WHERE id = ANY(\(submitted)) AND submitted_at IS NOT NULL AND submitted_by IS NOT NULL")
            let codedTwice = try await count(
                """
                SELECT count(*)::int FROM (
                    SELECT encounter_id FROM events WHERE to_stage = 'coded' GROUP BY encounter_id HAVING count(*) > 1) twice
                """)
            let submittedTwice = try await count(
                """
                SELECT count(*)::int FROM (
                    SELECT encounter_id FROM events WHERE action = 'claim.submitted' GROUP BY encounter_id HAVING count(*) > 1) twice
                """)
            let claimsTwice = try await count(
                "SELECT count(*)::int FROM (SELECT encounter_id FROM claims GROUP BY encounter_id HAVING count(*) > 1) twice")
            let rows = try await count("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM claims)")
            return (rows, completed.count - coded + submitted.count - sent, codedTwice + submittedTwice + claimsTwice)
        }
    }
}

extension FaultLoad {
    /// How many encounters are in each stage, for the printed figures.
    static func stages(_ url: DatabaseURL) async throws -> String {
        try await TestDatabase.withClient(url, maximumConnections: 1) { client in
            var parts: [String] = []
            let rows = try await client.query(
                "SELECT stage, count(*)::int FROM encounters GROUP BY stage ORDER BY stage", logger: TestDatabase.logger)
            for try await (stage, count) in rows.decode((String, Int).self) { parts.append("\(stage) \(count)") }
            let findings = try await client.query(
                "SELECT left(findings::text, 300), count(*)::int FROM handoff_findings GROUP BY 1 LIMIT 3", logger: TestDatabase.logger)
            for try await (rule, count) in findings.decode((String, Int).self) { parts.append("finding \(rule) \(count)") }
            return parts.joined(separator: ", ")
        }
    }
}

/// Whether the load loops go on.
actor LoadSwitch {
    private(set) var isOn = true
    func turnOff() { isOn = false }
}

/// Every answer the load got, and what it was told was done.
actor LoadTally {
    private(set) var statuses: [Int: Int] = [:]
    private(set) var transportErrors: [String] = []
    /// 503 answers that were not problem+json `database-unavailable` with a `Retry-After`.
    private(set) var badUnavailable: [String] = []
    private(set) var completedEncounters: Set<String> = []
    private(set) var submittedClaims: Set<String> = []
    private(set) var leases: Set<String> = []
    /// When each request was sent and when (and with what) it was answered.
    private(set) var log: [(sent: ContinuousClock.Instant, answered: ContinuousClock.Instant, status: Int?)] = []

    var answered: Int { statuses.values.reduce(0, +) }
    var unavailable: Int { statuses[503] ?? 0 }
    /// Answers 500 or above other than 503.
    var serverErrors: Int { statuses.filter { $0.key >= 500 && $0.key != 503 }.values.reduce(0, +) }

    func record(_ reply: FaultClient.Reply, sent: ContinuousClock.Instant) {
        statuses[reply.status, default: 0] += 1
        log.append((sent, .now, reply.status))
        if reply.status == 503 {
            let retryAfter = reply.retryAfter.flatMap(Int.init) ?? 0
            if reply.contentType != "application/problem+json" || retryAfter < 1
                || reply.string("type") != "https://claimflow.dev/problems/database-unavailable"
            {
                badUnavailable.append("\(reply.contentType ?? "-") retry-after \(reply.retryAfter ?? "-") \(reply.body.prefix(200))")
            }
        }
    }

    func transportError(_ error: any Error, sent: ContinuousClock.Instant? = nil) {
        transportErrors.append(String(describing: error).prefix(200).description)
        if let sent { log.append((sent, .now, nil)) }
    }

    /// Requests sent in `window` (by the client's clock) that got no answer.
    func unanswered(sentIn window: Range<ContinuousClock.Instant>) -> Int {
        log.filter { $0.status == nil && window.contains($0.sent) }.count
    }

    func leased(_ lease: String) { leases.insert(lease) }
    func completed(_ encounter: String) { completedEncounters.insert(encounter) }
    func submitted(_ claim: String) { submittedClaims.insert(claim) }

    /// One line of figures for the test's output.
    var summary: String {
        let codes = statuses.keys.sorted().map { "\($0)×\(statuses[$0]!)" }.joined(separator: " ")
        return "\(answered) requests answered (\(codes)), \(transportErrors.count) unanswered,"
            + " \(completedEncounters.count) encounters coded, \(submittedClaims.count) claims submitted"
    }
}

/// One HTTP connection of the load, recording every answer in the tally.
struct FaultClient: Sendable {
    let client: TestClient
    let tally: LoadTally
    /// The server's port, for requests that need a connection of their own.
    var port: Int?
    /// The port the Host header names (a proxy wants one): the server's.
    var host: Int?

    init(client: TestClient, tally: LoadTally, port: Int? = nil, host: Int? = nil) {
        self.client = client
        self.tally = tally
        self.port = port
        self.host = host ?? port
    }

    /// Thrown after a transport error has been recorded, so the loop reconnects.
    struct Unanswered: Error {}

    struct Reply: Sendable {
        let status: Int
        let contentType: String?
        let retryAfter: String?
        let body: String

        func string(_ path: String...) -> String? {
            var value: Any? = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
            for key in path { value = (value as? [String: Any])?[key] }
            return value as? String
        }
    }

    func send(_ method: HTTPRequest.Method, _ path: String, token: String?, json: Any? = nil) async throws -> Reply {
        var headers: HTTPFields = [:]
        // HTTP/1.1 needs a Host: ClaimFlow does without one, a proxy (nginx) answers 400.
        if let host, let name = HTTPField.Name("Host") { headers[name] = "127.0.0.1:\(host)" }
        if let token { headers[.authorization] = "Bearer \(token)" }
        var buffer: ByteBuffer?
        if let json {
            buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            headers[.contentType] = "application/json"
        }
        let sent = ContinuousClock.now
        let request = TestClient.Request(path, method: method, headers: headers, body: buffer)
        do {
            let response = try await within(FaultLoad.clientTimeout) { [client] in try await client.execute(request) }
            let reply = Reply(
                status: Int(response.status.code), contentType: response.headers[.contentType],
                retryAfter: response.headers[.retryAfter], body: response.body.map { String(buffer: $0) } ?? "")
            await tally.record(reply, sent: sent)
            return reply
        } catch {
            await tally.transportError(error, sent: sent)
            throw Unanswered()
        }
    }

    /// A pull that may wait, on a connection of its own: the server watches a waiting pull's
    /// connection for a hang-up and closes it after the answer (`Connection: close`), and this
    /// test client does not reconnect by itself.
    func pull(_ path: String, token: String) async throws -> Reply {
        guard let port else { return try await send(.post, path, token: token) }
        do {
            return try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: FaultLoad.clientTimeout)) {
                try await FaultClient(client: $0, tally: tally, host: port).send(.post, path, token: token)
            }
        } catch let error as Unanswered {
            throw error
        } catch {
            // A failed connect, recorded like any unanswered request.
            await tally.transportError(error)
            throw Unanswered()
        }
    }

    /// `request`, repeated while it is answered 503 (at most 40 times) and the load is on.
    func retrying(_ power: LoadSwitch, _ request: () async throws -> Reply) async throws -> Reply? {
        for _ in 0..<40 {
            let reply = try await request()
            if reply.status != 503 { return reply }
            guard await power.isOn else { return reply }
            try await Task.sleep(for: .milliseconds(250))
        }
        return nil
    }
}

/// The work and the people for a fault test: a practice with `encounters` waiting for coding,
/// 8 coders and 2 billers with tokens, and an idle practice whose coders find nothing (for
/// long polls that must wait).
struct FaultScene: Sendable {
    let coders: [String]
    let billers: [String]
    let idleCoders: [String]
    let encounters: [UUID]
    /// An intake user's token, for encounters sent over HTTP (practice TEST).
    let intake: String

    static func make(_ url: DatabaseURL, encounters: Int, idleCoders: Int = 1) async throws -> FaultScene {
        try await TestDatabase.withClient(url) { client in
            let fixture = try await Fixture.make(client)
            let idle = try await Fixture.make(client, code: "IDLE")
            // The ICD-10-CM subset covers E11.9, so the handoff passes what the coders send.
            _ = try await CodeSetStore(client: client, logger: TestDatabase.logger).importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "fault",
                effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
            )
            var coders: [String] = []
            var billers: [String] = []
            var idlers: [String] = []
            for index in 0..<8 {
                let id = try await fixture.user("coder-\(index)", roles: [.coder])
                coders.append(try await fixture.users.issueToken(userID: id, label: "fault", audit: .system))
            }
            for index in 0..<2 {
                let id = try await fixture.user("biller-\(index)", roles: [.biller])
                billers.append(try await fixture.users.issueToken(userID: id, label: "fault", audit: .system))
            }
            let intake = try await fixture.users.issueToken(
                userID: try await fixture.user("intake-0", roles: [.intake]), label: "fault", audit: .system)
            for index in 0..<idleCoders {
                let id = try await idle.user("idle-coder-\(index)", roles: [.coder])
                idlers.append(try await idle.users.issueToken(userID: id, label: "fault", audit: .system))
            }
            // Through the real intake (with subscriber and member id), four at a time.
            let ids = try await withThrowingTaskGroup(of: [UUID].self) { group in
                for part in 0..<4 {
                    group.addTask {
                        var ids: [UUID] = []
                        for index in stride(from: part, to: encounters, by: 4) { ids.append(try await fixture.receive("FAULT-\(index)")) }
                        return ids
                    }
                }
                var all: [UUID] = []
                for try await ids in group { all += ids }
                return all
            }
            return FaultScene(coders: coders, billers: billers, idleCoders: idlers, encounters: ids, intake: intake)
        }
    }

    /// Receives one encounter in the idle practice (its trigger notifies waiting pullers).
    static func arriveIdle(_ url: DatabaseURL, externalID: String) async throws {
        try await TestDatabase.withClient(url, maximumConnections: 1) { client in
            let idle = try await Fixture.make(client, code: "IDLE")
            try await idle.receive(externalID)
        }
    }
}

/// A PostgreSQL of the test's own (deploy/local-postgres.sh in a temporary folder, on a port of
/// its own) that the test may stop and start; never the shared test server.
struct PrivatePostgres: Sendable {
    let directory: URL
    let url: String

    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appending(path: "deploy/local-postgres.sh")

    static func start() async throws -> PrivatePostgres {
        let directory = FileManager.default.temporaryDirectory.appending(path: "claimflow-fault-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // As root the server runs as the postgres user, which must reach the folder.
        chmod(directory.path, 0o755)
        let output = try await run("start", directory.path)
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("export DATABASE_URL=") }) else {
            throw TestSetupError("local-postgres.sh printed no DATABASE_URL: \(output)")
        }
        return PrivatePostgres(directory: directory, url: String(line.dropFirst("export DATABASE_URL=".count)))
    }

    /// Fast shutdown (`pg_ctl -m fast`): sessions are ended, as in a restart by an operator.
    func stop() async throws { _ = try await Self.run("stop", directory.path) }
    /// Starts it again; on the same port, which the script would otherwise choose anew.
    func restart() async throws {
        guard let port = URLComponents(string: url)?.port else { throw TestSetupError("no port in \(url)") }
        _ = try await Self.run("start", directory.path, "\(port)")
    }

    func remove() async {
        _ = try? await Self.run("stop", directory.path)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs the script without blocking a thread of the concurrency pool; bounded at 120 s.
    private static func run(_ arguments: String...) async throws -> String {
        let output = FileManager.default.temporaryDirectory.appending(path: "claimflow-pgctl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let pid = try ChildProcess.spawn("/bin/bash", [script.path] + arguments, standardOutput: output.path, standardError: nil)
        let deadline = ContinuousClock.now + .seconds(120)
        var status = try ChildProcess.exitStatus(of: pid, waiting: false)
        while status == nil {
            guard ContinuousClock.now < deadline else {
                kill(pid, SIGKILL)
                throw TestSetupError("local-postgres.sh \(arguments) did not finish")
            }
            try await Task.sleep(for: .milliseconds(50))
            status = try ChildProcess.exitStatus(of: pid, waiting: false)
        }
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard status == 0 else { throw TestSetupError("local-postgres.sh \(arguments) failed (\(status ?? -1)): \(text)") }
        return text
    }
}

/// `body`'s value, or an error when it has not come within `limit`. The body runs in a task of
/// its own, left behind on a timeout: HummingbirdTesting's own timeout waits for the answer it
/// gave up on, so it cannot tell a request the server never answered.
func within<Value: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
    let once = FirstAnswer<Result<Value, any Error>>()
    Task {
        do { once.give(.success(try await body())) } catch { once.give(.failure(error)) }
    }
    let timer = Task {
        try await Task.sleep(for: limit)
        once.give(.failure(TestSetupError("no answer within \(limit)")))
    }
    defer { timer.cancel() }
    return try await once.value().get()
}

/// The first value given, for one waiter.
final class FirstAnswer<Value: Sendable>: Sendable {
    private let state = Mutex<(value: Value?, waiter: CheckedContinuation<Value, Never>?)>((nil, nil))

    func give(_ value: Value) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, Never>?? in
            guard state.value == nil else { return .none }
            state.value = value
            defer { state.waiter = nil }
            return .some(state.waiter)
        }
        if case .some(.some(let waiter)) = waiter { waiter.resume(returning: value) }
    }

    func value() async -> Value {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Value? in
                if let value = state.value { return value }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

extension FaultLoad {
    /// Whether the workers caught up within `limit` each: nothing left in `coded` (the handoff),
    /// and every submitted claim in an interchange (the batcher).
    static func workersCaughtUp(_ url: DatabaseURL, within limit: Duration) async throws -> (handedOff: Bool, batched: Bool) {
        let handedOff = try await eventually(within: limit) {
            try await CLIDatabase.integer(url, "SELECT count(*)::int FROM encounters WHERE stage = 'coded'") == 0
        }
        let batched = try await eventually(within: limit) {
            try await CLIDatabase.integer(
                url,
                "SELECT count(*)::int FROM claims WHERE status = 'submitted' AND id NOT IN (SELECT claim_id FROM interchange_claims)"
            ) == 0
        }
        return (handedOff, batched)
    }
}

/// Polls `condition` every 200 ms until it holds or `limit` passes.
func eventually(within limit: Duration, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: .milliseconds(200))
    }
    return try await condition()
}

extension FaultScene {
    /// `count` encounters for practice TEST as one NDJSON batch over HTTP (through whatever is at
    /// `port`); returns how many the answer says were created.
    func sendBatch(port: Int, count: Int, prefix: String) async throws -> Int {
        var lines: [String] = []
        for index in 0..<count {
            let externalID = "\(prefix)-\(index)"
            let body: [String: Any] = [
                "practice_code": "TEST", "external_id": externalID,
                "patient": [
                    "mrn": "MRN-\(externalID)", "first_name": "Ada", "last_name": "Lovelace", "birth_date": "1960-12-10", "sex": "F",
                    "address": ["line1": "1 Analytical Way", "city": "Springfield", "state": "IL", "postal_code": "62701"],
                ],
                "coverage": ["payer_code": "PAYTEST", "member_id": "MEM-\(externalID)", "relationship": "18"],
                "rendering_provider_npi": "1234567893", "date_of_service": "2026-11-02", "place_of_service": "11",
                "specialty": "family_medicine", "priority": 0, "documentation": "Follow-up, type 2 diabetes.",
            ]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
        }
        var headers: HTTPFields = [.authorization: "Bearer \(intake)", .contentType: "application/x-ndjson"]
        if let host = HTTPField.Name("Host") { headers[host] = "127.0.0.1:\(port)" }
        let request = TestClient.Request(
            "/api/v1/encounters/batch", method: .post, headers: headers, body: ByteBuffer(string: lines.joined(separator: "\n")))
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(120))) {
            try await $0.execute(request)
        }
        let answer = response.body.flatMap { try? JSONSerialization.jsonObject(with: Data(String(buffer: $0).utf8)) } as? [String: Any]
        guard (200..<300).contains(Int(response.status.code)), let created = answer?["created"] as? Int else {
            throw TestSetupError(
                "the batch was refused: \(response.status.code) \(response.body.map { String(buffer: $0) }?.prefix(500) ?? "")")
        }
        return created
    }
}
