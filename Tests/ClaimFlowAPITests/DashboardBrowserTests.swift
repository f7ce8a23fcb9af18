import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import PostgresNIO
import Testing

@Suite("Dashboard in a real browser")
struct DashboardBrowserTests {
    @Test("headless Chromium loads /dashboard, shows charts with data, and a reassign through the page moves an item")
    func dashboard() async throws {
        try await APIHarness.run(live: true) { h, c in
            for index in 0..<12 { _ = try await h.fixture.receive("DASH-\(index)") }
            let coder = h.users[.coder]!
            let port = try #require(c.port)
            let screenshot = FileManager.default.temporaryDirectory.appending(path: "claimflow-dashboard-1280x800.png")
            let script = FixtureFiles.root.appending(path: "Tests/browser/dashboard_test.py").path
            let run = try ChildProcess.run(
                try PythonTools.interpreter(),
                [
                    script, "http://127.0.0.1:\(port)", h.tokens[.supervisor]!, coder.uuidString, screenshot.path,
                    "--chromium", "/usr/bin/chromium", "--chromedriver", "/usr/bin/chromedriver",
                ]
            )
            #expect(run.status == 0, "\(run.output)")
            let line = try #require(run.output.split(separator: "\n").last { $0.hasPrefix("{") })
            let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect((result["bars"] as? Int ?? 0) > 0)
            let attributes = try FileManager.default.attributesOfItem(atPath: screenshot.path)
            #expect((attributes[.size] as? Int ?? 0) > 10_000, "a real screenshot")
            let moved = try #require((result["reassigned_encounter_id"] as? String).flatMap(UUID.init(uuidString:)))

            // Checked through the API: the item is leased to the chosen coder, by the supervisor.
            let history = try await c.send(.get, "/api/v1/encounters/\(moved)/history", token: h.tokens[.supervisor])
            let events = try #require(history.json["events"] as? [[String: Any]])
            #expect(events.contains { $0["action"] as? String == "work.reassigned" && $0["actor_username"] as? String == "supervisor" })
            let work = try await c.send(.get, "/api/v1/supervisor/work?assignee=\(coder)", token: h.tokens[.supervisor])
            let items = try #require(work.json["items"] as? [[String: Any]])
            #expect(items.contains { ($0["encounter_id"] as? String).flatMap(UUID.init(uuidString:)) == moved })
        }
    }
}
