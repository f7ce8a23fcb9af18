import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import Testing

@testable import ClaimFlowAPI

/// `openapi.yaml` is the contract. These tests hold the code to it from two sides:
/// - each request type's schema equals the document's, keyword by keyword (fields, required,
///   lengths, patterns, enums, ranges, counts, `additionalProperties: false`);
/// - every operation is walked through the real router: each documented field, limit and enum
///   value is accepted, and each value just outside them, each undocumented field and each
///   `null` is refused with a finding at that field's path.
/// Both are shown to catch a document that was altered in one place.
@Suite("API contract")
struct ContractTests {
    @Test("every JSON request body's schema is the document's, keyword by keyword")
    func schemasMatchDocument() async throws {
        let document = try await OpenAPIContract.load()
        let operations = document.jsonOperations()
        #expect(Set(operations.keys) == Set(RequestBodies.byOperation.keys), "operations with a JSON body")
        var differences: [String] = []
        for (operation, schema) in operations.sorted(by: { $0.key < $1.key }) {
            guard let type = RequestBodies.byOperation[operation] else { continue }
            differences += OpenAPIContract.differences(
                document.normalized(schema), document.canonical(type.schema.document), at: operation)
        }
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    @Test("a limit, an enum or a field changed in the document alone is caught by the comparison")
    func comparisonCatchesAlteredDocument() async throws {
        let original = try await OpenAPIContract.load()
        let alterations: [(String, (inout SchemaTable) -> Void)] = [
            ("city maxLength 30 -> 31", { $0["PostalAddressInput", "city"]?["maxLength"] = 31 }),
            ("sex enum gains X", { $0["Sex"]?["enum"] = ["F", "M", "U", "X"] }),
            (
                "relationship enum loses G8",
                { $0["CoverageInput", "relationship"]?["enum"] = ["01", "18", "19", "20", "21", "39", "40", "53"] }
            ),
            ("priority maximum 100 -> 99", { $0["PriorityRequest", "priority"]?["maximum"] = 99 }),
            ("lines maxItems 50 -> 51", { $0["SaveCodesRequest", "lines"]?["maxItems"] = 51 }),
            ("reason no longer required", { $0["ReturnClaimRequest"]?["required"] = ["lease_id"] }),
            (
                "a field the code does not know",
                {
                    var properties = $0["LeaseRequest"]?["properties"] as? [String: Any] ?? [:]
                    properties["note"] = ["type": "string"]
                    $0["LeaseRequest"]?["properties"] = properties
                }
            ),
        ]
        for (name, alter) in alterations {
            var altered = original
            alter(&altered.schemas)
            var differences: [String] = []
            for (operation, schema) in altered.jsonOperations() {
                guard let type = RequestBodies.byOperation[operation] else { continue }
                differences += OpenAPIContract.differences(
                    altered.normalized(schema), altered.canonical(type.schema.document), at: operation)
            }
            #expect(!differences.isEmpty, "the comparison missed: \(name)")
        }
    }

    @Test("every operation accepts each documented field and value, and refuses everything just outside")
    func walkEveryOperation() async throws {
        let document = try await OpenAPIContract.load()
        try await APIHarness.run { h, c in
            let token = try await Self.allRoleToken(h)
            let walker = ContractWalker(document: document, client: c, token: token)
            let failures = try await walker.walkAll()
            print(
                "contract walk: \(walker.sent.value) requests over \(document.jsonOperations().count) operations, \(failures.count) failures"
            )
            #expect(walker.sent.value > 500)
            #expect(walker.examples.keys.sorted() == document.jsonOperations().keys.sorted())
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        }
    }

    @Test("the walk catches a document whose limit or enum differs from the code")
    func walkCatchesAlteredDocument() async throws {
        var document = try await OpenAPIContract.load()
        document.schemas["PostalAddressInput", "city"]?["maxLength"] = 31
        document.schemas["Sex"]?["enum"] = ["F", "M", "U", "X"]
        document.schemas["PriorityRequest", "priority"]?["maximum"] = 101
        let altered = document
        try await APIHarness.run { h, c in
            let token = try await Self.allRoleToken(h)
            let walker = ContractWalker(document: altered, client: c, token: token)
            let intake = try await walker.walk("POST /api/v1/encounters")
            #expect(intake.contains { $0.contains("$.patient.address.city") }, "\(intake)")
            #expect(intake.contains { $0.contains("$.patient.sex") && $0.contains("\"X\"") }, "\(intake)")
            let priority = try await walker.walk("POST /api/v1/supervisor/work/{id}/priority")
            #expect(priority.contains { $0.contains("$.priority") && $0.contains("101") }, "\(priority)")
        }
    }

    static func allRoleToken(_ h: APIHarness) async throws -> String {
        let id = try await h.fixture.user("contract-walker", roles: Set(Role.allCases), skills: ["family_medicine"])
        return try await h.fixture.users.issueToken(userID: id, label: "contract", audit: .system)
    }
}

/// The OpenAPI document as JSON (converted by the test tools' Python, which has PyYAML).
struct OpenAPIContract: @unchecked Sendable {
    var root: [String: Any]
    var schemas: SchemaTable

    /// The JSON Schema keywords that constrain a value; descriptions and examples are prose.
    static let constraintKeywords: Set<String> = [
        "type", "properties", "required", "additionalProperties", "minLength", "maxLength", "pattern", "enum",
        "format", "minimum", "maximum", "items", "minItems", "maxItems",
    ]

    static func load() async throws -> OpenAPIContract {
        let yaml = OpenAPIController.document
        #expect(!yaml.isEmpty, "the document is embedded in the binary")
        let file = FileManager.default.temporaryDirectory.appending(path: "claimflow-contract-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = "import sys, json, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout, default=str)"
        let outcome = try ChildProcess.run(try PythonTools.interpreter(), ["-c", script, file.path])
        guard outcome.status == 0, let root = try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any]
        else { throw TestSetupError("openapi.yaml could not be read as YAML: \(outcome.output)") }
        let components = root["components"] as? [String: Any]
        return OpenAPIContract(root: root, schemas: SchemaTable(table: components?["schemas"] as? [String: Any] ?? [:]))
    }

    /// `METHOD /path` → the `application/json` request schema, for every operation that has one.
    func jsonOperations() -> [String: [String: Any]] {
        var result: [String: [String: Any]] = [:]
        for (path, item) in root["paths"] as? [String: Any] ?? [:] {
            for (method, operation) in item as? [String: Any] ?? [:] {
                guard let operation = operation as? [String: Any],
                    let body = operation["requestBody"] as? [String: Any],
                    let content = body["content"] as? [String: Any],
                    let json = content["application/json"] as? [String: Any],
                    let schema = json["schema"] as? [String: Any]
                else { continue }
                result["\(method.uppercased()) \(path)"] = schema
            }
        }
        return result
    }

    /// `$ref`s resolved, prose dropped, `required` sorted: comparable with ``canonical(_:)``.
    func normalized(_ schema: [String: Any]) -> [String: Any] {
        var schema = schema
        if let ref = schema["$ref"] as? String, let target = schemas.table[String(ref.split(separator: "/").last ?? "")] as? [String: Any] {
            schema = target
        }
        var result: [String: Any] = [:]
        for (key, value) in schema where Self.constraintKeywords.contains(key) {
            switch key {
            case "properties":
                result[key] = (value as? [String: Any] ?? [:]).mapValues { normalized($0 as? [String: Any] ?? [:]) }
            case "items":
                result[key] = normalized(value as? [String: Any] ?? [:])
            case "required", "enum":
                // Order carries no meaning in either.
                result[key] = (value as? [String] ?? []).sorted()
            default:
                result[key] = value
            }
        }
        return result
    }

    /// The code's schema as plain JSON values, like the document's after ``normalized(_:)``.
    func canonical(_ document: [String: any Sendable]) -> [String: Any] {
        let data = try! JSONSerialization.data(withJSONObject: document as [String: Any])
        return normalized(try! JSONSerialization.jsonObject(with: data) as! [String: Any])
    }

    /// Where `document` and `code` differ, one line each.
    static func differences(_ document: Any?, _ code: Any?, at path: String) -> [String] {
        switch (document, code) {
        case (let a as [String: Any], let b as [String: Any]):
            return Set(a.keys).union(b.keys).sorted().flatMap { differences(a[$0], b[$0], at: "\(path).\($0)") }
        case (let a as [Any], let b as [Any]):
            if a.count != b.count { return ["\(path): document \(a), code \(b)"] }
            return zip(a, b).enumerated().flatMap { differences($0.element.0, $0.element.1, at: "\(path)[\($0.offset)]") }
        case (nil, nil):
            return []
        case (let a?, let b?) where "\(a)" == "\(b)":
            return []
        default:
            return ["\(path): document \(document.map { "\($0)" } ?? "absent"), code \(code.map { "\($0)" } ?? "absent")"]
        }
    }
}

/// The document's component schemas, with subscripts for altering one in a test.
struct SchemaTable: @unchecked Sendable {
    var table: [String: Any]

    subscript(name: String) -> [String: Any]? {
        get { table[name] as? [String: Any] }
        set { table[name] = newValue }
    }

    subscript(name: String, property: String) -> [String: Any]? {
        get { (self[name]?["properties"] as? [String: Any])?[property] as? [String: Any] }
        set {
            var schema = self[name] ?? [:]
            var properties = schema["properties"] as? [String: Any] ?? [:]
            properties[property] = newValue
            schema["properties"] = properties
            self[name] = schema
        }
    }
}

/// Sends, for every operation with a JSON body, a valid example and then one change at a time
/// derived from the document: values at each limit (accepted) and just past it (refused with a
/// finding at that path), every enum value, a removed field, `null`, a wrong type, an
/// undocumented field.
struct ContractWalker: @unchecked Sendable {
    let document: OpenAPIContract
    let client: TestClientProtocolBox
    let token: String
    /// How many requests the walk sent.
    let sent = Counter()

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        var value: Int { lock.withLock { count } }
        func increment() { lock.withLock { count += 1 } }
    }

    /// A valid body for each operation, holding every documented field. (The intake's
    /// relationship is 18, self, so taking the subscriber away is allowed: the document's
    /// `if`/`then` requires one for any other relationship.)
    let examples: [String: Any] = [
        "POST /api/v1/encounters": [
            "practice_code": "TEST", "external_id": "contract-1",
            "patient": [
                "mrn": "MRN-C1", "first_name": "Ada", "last_name": "Lovelace", "birth_date": "1960-12-10", "sex": "F",
                "address": ["line1": "1 Way", "line2": "Suite 2", "city": "Springfield", "state": "IL", "postal_code": "62701"],
            ],
            "coverage": [
                "payer_code": "PAYTEST", "member_id": "MEM-C1", "group_number": "G1", "relationship": "18",
                "subscriber": [
                    "first_name": "Charles", "last_name": "Babbage", "birth_date": "1958-01-02", "sex": "M",
                    "address": ["line1": "1 Way", "line2": "Suite 2", "city": "Springfield", "state": "IL", "postal_code": "62701"],
                ],
            ],
            "rendering_provider_npi": "1234567893", "date_of_service": "2026-11-02", "place_of_service": "11",
            "specialty": "family_medicine", "priority": 0, "documentation": "Follow-up.",
            "referring_provider": ["npi": "1234567893", "first_name": "Ruth", "last_name": "Okafor"],
            "service_facility": [
                "name": "Riverside Surgery", "npi": "1234567893",
                "address": ["line1": "400 River Rd", "line2": "Bldg 2", "city": "Springfield", "state": "IL", "postal_code": "62702"],
            ],
            "prior_authorization": "PA-1", "referral_number": "RF-1", "related_causes": ["EM"], "accident_state": "IL",
            "accident_date": "2026-10-30", "onset_date": "2026-10-30", "initial_treatment_date": "2026-10-31",
            "last_seen_date": "2026-10-01",
        ],
        "PUT /api/v1/coder/encounters/{id}/codes": [
            "lease_id": UUID().uuidString, "diagnoses": ["E11.9"],
            "lines": [
                [
                    "code": "99213", "modifiers": ["25"], "units": 1, "charge": "125.00", "pointers": [1], "anesthesia_minutes": 30,
                    "drug": ["ndc": "00409-4888-20", "unit": "ML", "quantity": "1.5"],
                ]
            ],
        ],
        "POST /api/v1/coder/encounters/{id}/complete": ["lease_id": UUID().uuidString],
        "POST /api/v1/coder/encounters/{id}/query": ["lease_id": UUID().uuidString, "question": "Which eye?"],
        "POST /api/v1/coder/encounters/{id}/release": ["lease_id": UUID().uuidString, "reason": "end of shift"],
        "POST /api/v1/coder/encounters/{id}/heartbeat": ["lease_id": UUID().uuidString],
        "POST /api/v1/encounters/{id}/answer": ["answer": "Left eye."],
        "POST /api/v1/biller/claims/{id}/submit": ["lease_id": UUID().uuidString],
        "POST /api/v1/biller/claims/{id}/return": ["lease_id": UUID().uuidString, "reason": "wrong modifier"],
        "POST /api/v1/biller/exceptions/{id}/resolve": ["resolution": "posted by hand"],
        "POST /api/v1/supervisor/work/{id}/reassign": ["to_user": UUID().uuidString, "reason": "balance"],
        "POST /api/v1/supervisor/work/{id}/release": ["reason": "stuck"],
        "POST /api/v1/supervisor/work/{id}/priority": ["priority": 50, "reason": "filing limit"],
        "POST /api/v1/admin/users": [
            "username": "contract-user", "display_name": "Contract User", "roles": ["coder"], "practices": ["TEST"],
            "skills": ["family_medicine"], "active": true,
        ],
        "POST /api/v1/admin/users/{id}/tokens": ["label": "laptop", "expires_in_days": 30],
        "POST /api/v1/admin/practices": [
            "code": "CONTRACT", "name": "Contract Clinic", "npi": "1234567893", "tax_id": "123456789", "taxonomy": "207Q00000X",
            "address": ["line1": "1 Way", "line2": "Suite 2", "city": "Springfield", "state": "IL", "postal_code": "627011234"],
            "segregate_duties": false, "individual": ["first_name": "Grace", "last_name": "Hopper"],
        ],
        "POST /api/v1/admin/practices/{code}/providers": [
            "npi": "1234567893", "first_name": "Grace", "last_name": "Hopper", "taxonomy": "207Q00000X",
        ],
        "PUT /api/v1/admin/practices/{code}/lease-cap": ["lease_cap": 2],
        "POST /api/v1/admin/payers": [
            "payer_code": "CONTRACT1", "name": "Contract Payer", "filing_limit_days": 365, "claim_filing_indicator": "CI",
            "accepts_corrections": true, "corrected_filing_limit_days": 365,
        ],
    ]

    /// Findings' messages that report a reference (a practice, payer or provider that does not
    /// exist) rather than the shape: they are the database's answer to an accepted body.
    static let referenceMessages = ["is not one of your practices", "is not a known payer", "is not a provider of practice"]

    enum Step: Sendable, CustomStringConvertible {
        case key(String)
        case index(Int)
        var description: String {
            switch self {
            case .key(let key): ".\(key)"
            case .index(let index): "[\(index)]"
            }
        }
    }

    struct Probe {
        let path: [Step]
        /// The value to put there; nil removes the field.
        let value: Any?
        let accepted: Bool
        var pathText: String { "$" + path.map(\.description).joined() }
    }

    func walkAll() async throws -> [String] {
        var failures: [String] = []
        for operation in document.jsonOperations().keys.sorted() { failures += try await walk(operation) }
        return failures
    }

    /// The failures of one operation, each naming the probe.
    func walk(_ operation: String) async throws -> [String] {
        guard let schema = document.jsonOperations()[operation] else { return ["\(operation): not in the document"] }
        guard let example = examples[operation] else { return ["\(operation): no example body in the contract test"] }
        var failures: [String] = []
        let probes = self.probes(document.normalized(schema), example, at: [], failures: &failures)
        let parts = operation.split(separator: " ", maxSplits: 1)
        let method = HTTPRequest.Method(rawValue: String(parts[0]))!
        // Ids in the path name nothing: a body is checked before the resource is looked up.
        let uri = String(parts[1]).replacingOccurrences(of: "{id}", with: UUID().uuidString.lowercased())
            .replacingOccurrences(of: "{code}", with: "TEST")
        let base = try await send(method, uri, example)
        if base.status == 422 || base.status >= 500 { failures.append("\(operation): the example itself is refused: \(base.body)") }
        for probe in probes {
            let body = Self.setting(probe.value, at: probe.path[...], in: example)
            let reply = try await send(method, uri, body)
            let shown = probe.value.map { Self.text($0) } ?? "(removed)"
            if reply.status >= 500 {
                failures.append("\(operation) \(probe.pathText) = \(shown): \(reply.status)")
                continue
            }
            let findings = (reply.json["findings"] as? [[String: Any]] ?? []).filter { finding in
                let message = finding["message"] as? String ?? ""
                return !Self.referenceMessages.contains { message.hasPrefix($0) }
            }
            let flagged = reply.status == 422 && findings.contains { ($0["path"] as? String) == probe.pathText }
            if probe.accepted && flagged {
                failures.append("\(operation) \(probe.pathText) = \(shown): refused, but the document allows it: \(reply.body)")
            } else if !probe.accepted && !flagged {
                failures.append(
                    "\(operation) \(probe.pathText) = \(shown): not refused at that path (\(reply.status)), but the document forbids it")
            }
        }
        return failures
    }

    private func send(_ method: HTTPRequest.Method, _ uri: String, _ body: Any) async throws -> TestClientProtocolBox.Reply {
        let data = try JSONSerialization.data(withJSONObject: body, options: [.fragmentsAllowed])
        sent.increment()
        return try await client.send(method, uri, token: token, raw: String(decoding: data, as: UTF8.self))
    }

    static func text(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]) else { return "\(value)" }
        let text = String(decoding: data, as: UTF8.self)
        return text.count > 40 ? String(text.prefix(37)) + "..." : text
    }

    /// The changes to try for one value of the example and everything inside it.
    func probes(_ schema: [String: Any], _ example: Any, at path: [Step], failures: inout [String]) -> [Probe] {
        var result: [Probe] = []
        func accept(_ value: Any) { result.append(Probe(path: path, value: value, accepted: true)) }
        func refuse(_ value: Any) { result.append(Probe(path: path, value: value, accepted: false)) }
        let here = "$" + path.map(\.description).joined()
        if !path.isEmpty { refuse(NSNull()) }
        switch schema["type"] as? String {
        case "object":
            refuse("not an object")
            let properties = schema["properties"] as? [String: Any] ?? [:]
            let required = Set(schema["required"] as? [String] ?? [])
            let fields = example as? [String: Any] ?? [:]
            for name in properties.keys.sorted() {
                guard let value = fields[name] else {
                    failures.append("\(here).\(name): documented, but the contract test's example lacks it")
                    continue
                }
                result += probes(properties[name] as? [String: Any] ?? [:], value, at: path + [.key(name)], failures: &failures)
                result.append(Probe(path: path + [.key(name)], value: nil, accepted: !required.contains(name)))
            }
            for name in fields.keys where properties[name] == nil {
                failures.append("\(here).\(name): sent by the example, but not documented")
            }
            result.append(Probe(path: path + [.key("undocumented_field")], value: "x", accepted: false))
        case "string":
            refuse(12345)
            if let values = schema["enum"] as? [String] {
                values.forEach(accept)
                refuse("not-a-listed-value")
            } else if let format = schema["format"] as? String {
                refuse(format == "date" ? "2026-02-30" : "not-a-\(format)")
            } else {
                let pattern = schema["pattern"] as? String
                let matches = { (text: String) in pattern.map { text.range(of: $0, options: .regularExpression) != nil } ?? true }
                if pattern != nil, let outside = ["#!", " ", "\u{1}"].first(where: { !matches($0) }) { refuse(outside) }
                let minimum = schema["minLength"] as? Int ?? 0
                if minimum > 0 { refuse(String(repeating: "a", count: minimum - 1)) }
                if let maximum = schema["maxLength"] as? Int {
                    if matches(String(repeating: "a", count: maximum)) { accept(String(repeating: "a", count: maximum)) }
                    refuse(String(repeating: "a", count: maximum + 1))
                    // Characters are counted as PostgreSQL counts them: a combining accent is one.
                    if maximum >= 2 { accept(String(repeating: "e\u{301}", count: maximum / 2)) }
                }
            }
        case "integer":
            refuse("1")
            refuse(1.5)
            if let minimum = schema["minimum"] as? Int {
                accept(minimum)
                refuse(minimum - 1)
            }
            if let maximum = schema["maximum"] as? Int {
                accept(maximum)
                refuse(maximum + 1)
            }
        case "boolean":
            accept(true)
            accept(false)
            refuse("true")
        case "array":
            refuse("not an array")
            let items = example as? [Any] ?? []
            guard let first = items.first else {
                failures.append("\(here): the example's array is empty, so its items are not walked")
                return result
            }
            result += probes(schema["items"] as? [String: Any] ?? [:], first, at: path + [.index(0)], failures: &failures)
            if let maximum = schema["maxItems"] as? Int {
                accept(Array(repeating: first, count: maximum))
                refuse(Array(repeating: first, count: maximum + 1))
            }
            if let minimum = schema["minItems"] as? Int, minimum > 0 { refuse(Array(repeating: first, count: minimum - 1)) }
        default:
            failures.append("\(here): a schema without a type the walk knows")
        }
        return result
    }

    /// `root` with the value at `path` replaced (or removed, for nil).
    static func setting(_ value: Any?, at path: ArraySlice<Step>, in root: Any) -> Any {
        guard let step = path.first else { return value ?? NSNull() }
        switch step {
        case .key(let key):
            var object = root as? [String: Any] ?? [:]
            if path.count == 1, value == nil {
                object[key] = nil
            } else {
                object[key] = setting(value, at: path.dropFirst(), in: object[key] as Any)
            }
            return object
        case .index(let index):
            var array = root as? [Any] ?? []
            array[index] = setting(value, at: path.dropFirst(), in: array[index])
            return array
        }
    }
}
