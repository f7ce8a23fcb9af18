import ClaimFlowAPI
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Testing

@Suite("OpenAPI document")
struct OpenAPITests {
    @Test("every routed path and method is documented, and nothing else")
    func documentMatchesRouter() async throws {
        try await APIHarness.run { h, c in
            let reply = try await c.send(.get, "/openapi.yaml")
            #expect(reply.status == 200)
            let documented = Self.operations(in: reply.body)
            let routed = Set(buildRouter(h.dependencies).routes.map { "\($0.method.rawValue.lowercased()) \($0.path)" })
            #expect(documented == routed)
        }
    }

    @Test("openapi-spec-validator accepts the document")
    func validates() async throws {
        try await APIHarness.run { _, c in
            let document = try await c.send(.get, "/openapi.yaml").body
            let python = try PythonTools.interpreter()
            let file = FileManager.default.temporaryDirectory.appending(path: "claimflow-openapi-\(UUID().uuidString).yaml")
            try document.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let outcome = try ChildProcess.run(python, ["-m", "openapi_spec_validator", file.path])
            #expect(outcome.status == 0, "\(outcome.output)")
            #expect(outcome.output.contains("OK"), "\(outcome.output)")
        }
    }

    /// "method /path" for every operation: paths are the two-space-indented keys under
    /// `paths:`, methods the four-space-indented keys under them.
    static func operations(in yaml: String) -> Set<String> {
        var result: Set<String> = []
        var inPaths = false
        var path: String?
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.isEmpty {
                inPaths = line == "paths:"
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast()).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":"), let path {
                let key = String(line.dropFirst(4).dropLast())
                if methods.contains(key) { result.insert("\(key) \(path)") }
            }
        }
        return result
    }
}
