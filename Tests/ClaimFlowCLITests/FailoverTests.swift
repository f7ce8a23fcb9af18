import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The loopback cluster of `deploy/local-cluster.sh` (a primary with a synchronous standby, a
/// PgBouncer in front of each, three API replicas, two workers, nginx) under load while its parts
/// fail, one after another. Bounded: the cluster starts within 5 minutes, the load runs about
/// 40 seconds, every wait after it has a limit.
@Suite("failover on the loopback cluster")
struct FailoverTests {
    @Test(
        "8 coders and 2 billers through nginx while a replica is killed, a worker is killed, and the primary is stopped and its standby promoted: nothing coded twice, no claim lost, no acknowledged write lost, every claim in exactly one 837P",
        .timeLimit(.minutes(10))
    )
    func failover() async throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "claimflow-cluster-\(UUID().uuidString.prefix(8))")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appending(path: "deploy/local-cluster.sh").path
        let binary = try ClaimFlowProcess.binary().path
        let started = try await BoundedCommand.run(
            "/usr/bin/env", ["CLAIMFLOW_BINARY=\(binary)", script, "start", folder.path], timeout: .seconds(300))
        defer { _ = BoundedCommand.runBlocking(script, ["stop", folder.path], timeout: .seconds(60)) }
        try #require(started.status == 0, "deploy/local-cluster.sh start: \(started.output.suffix(3000))")
        let cluster = try Self.settings(folder.appending(path: "cluster.env"))
        let nginxPort = try #require(cluster["CLUSTER_URL"].flatMap { URL(string: $0)?.port })
        let primary = try DatabaseURL(try #require(cluster["OWNER_PRIMARY_URL"]))
        let standby = try DatabaseURL(try #require(cluster["OWNER_STANDBY_URL"]))
        let bindir = try #require(cluster["POSTGRES_BIN"])

        // The end-to-end flow through nginx: intake as one NDJSON batch, then coders, the handoff,
        // billers and the 837P batcher.
        let scene = try await FaultScene.make(primary, encounters: 0)
        let received = try await scene.sendBatch(port: nginxPort, count: 600, prefix: "FAILOVER")
        #expect(received == 600, "the batch through nginx created every encounter")
        let tally = LoadTally()
        let power = LoadSwitch()
        let load = Task { await FaultLoad.run(port: nginxPort, coders: scene.coders, billers: scene.billers, power: power, tally: tally) }

        // (a) an API replica killed; (b) a worker killed; (c) the primary stopped, the standby promoted.
        try await Task.sleep(for: .seconds(6))
        kill(try Self.pid(folder, "serve-1"), SIGKILL)
        try await Task.sleep(for: .seconds(6))
        kill(try Self.pid(folder, "work-1"), SIGKILL)
        try await Task.sleep(for: .seconds(6))
        let answeredBefore = await tally.answered
        let stop = try await BoundedCommand.run(
            "/usr/sbin/runuser",
            [
                "-u", "postgres", "--", "\(bindir)/pg_ctl", "-D", folder.appending(path: "primary/data").path, "-m", "immediate", "-w",
                "stop",
            ],
            timeout: .seconds(60))
        try #require(stop.status == 0, "stopping the primary: \(stop.output)")
        // From here the primary is gone (pg_ctl has seen it exit).
        let stopped = ContinuousClock.now
        let promote = try await BoundedCommand.run(
            "/usr/sbin/runuser",
            ["-u", "postgres", "--", "\(bindir)/pg_ctl", "-D", folder.appending(path: "standby/data").path, "-w", "promote"],
            timeout: .seconds(60))
        try #require(promote.status == 0, "promoting the standby: \(promote.output)")
        let promoted = ContinuousClock.now - stopped
        try await Task.sleep(for: .seconds(20))
        await power.turnOff()
        await load.value

        // Every request the load made after the stop is a write (a lease, a save, a completion, a
        // submission): the first 2xx among them is the first write the new primary took.
        let firstWrite = await tally.log.filter { $0.sent >= stopped && ($0.status.map { (200..<300).contains($0) } ?? false) }
            .map(\.answered).min().map { $0 - stopped }

        // The surviving worker hands off and sends what is left.
        let (handedOff, batched) = try await FaultLoad.workersCaughtUp(standby, within: .seconds(60))
        let claimsInTwoInterchanges = try await CLIDatabase.integer(
            standby, "SELECT count(*)::int FROM (SELECT claim_id FROM interchange_claims GROUP BY claim_id HAVING count(*) > 1) twice")
        let interchanges = try await CLIDatabase.integer(standby, "SELECT count(*)::int FROM interchanges")
        let files =
            (try? FileManager.default.contentsOfDirectory(atPath: folder.appending(path: "outbox").path))?
            .filter { !$0.hasPrefix(".") }.count ?? 0
        let (checked, lost, duplicates) = try await FaultLoad.audit(standby, tally: tally)
        let summary = await tally.summary
        let unanswered = await tally.transportErrors
        // nginx answers 502 for a request in flight on the replica killed (it retries only what
        // never reached one); ClaimFlow itself answers no 5xx but 503.
        let statuses = await tally.statuses
        let serverErrors = statuses.filter { $0.key >= 500 && $0.key != 503 && $0.key != 502 }.values.reduce(0, +)
        print(
            "failover: \(received) encounters received through nginx; \(summary); \(answeredBefore) answered before the primary stopped; promoted \(promoted) after the stop;"
                + " first write after the stop \(firstWrite.map { "\($0)" } ?? "never"); \(interchanges) interchanges, \(files) files;"
                + " encounters coded twice = \(duplicates), claims lost = \(lost), claims in two 837Ps = \(claimsInTwoInterchanges),"
                + " acknowledged writes lost = \(lost) (rows checked \(checked))"
        )
        if !handedOff || !batched {
            for name in ["work-2", "serve-2"] {
                let log = (try? String(contentsOf: folder.appending(path: "logs/\(name).log"), encoding: .utf8)) ?? ""
                print("\(name).log, last lines:\n" + log.split(separator: "\n").suffix(25).joined(separator: "\n"))
            }
        }
        #expect(firstWrite != nil, "a write succeeded after the promotion")
        #expect(handedOff, "no encounter left in coded")
        #expect(batched, "every submitted claim went out in an interchange")
        #expect(claimsInTwoInterchanges == 0)
        #expect(files == interchanges, "one file per interchange in the shared outbox")
        #expect(lost == 0)
        #expect(duplicates == 0)
        #expect(serverErrors == 0, "no 5xx but 503: \(summary)")
        // A killed replica or a primary going away may drop requests in flight; nginx retries
        // only what never reached a replica, so a few may go unanswered, never many.
        #expect(unanswered.count < 20, "requests never answered: \(unanswered.prefix(5))")
    }

    static func settings(_ file: URL) throws -> [String: String] {
        var settings: [String: String] = [:]
        for line in try String(contentsOf: file, encoding: .utf8).split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            var value = String(line[line.index(after: equals)...])
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            settings[String(line[..<equals])] = value
        }
        return settings
    }

    static func pid(_ folder: URL, _ name: String) throws -> pid_t {
        let text = try String(contentsOf: folder.appending(path: "pids/\(name)"), encoding: .utf8)
        guard let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw TestSetupError("no pid for \(name)") }
        return pid
    }
}
