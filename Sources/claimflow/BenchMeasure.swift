import Foundation

/// CPU and memory of processes, read from `/proc` (Linux), for the benchmark's cost columns.
///
/// PostgreSQL's CPU is the postmaster's own time, the time of every live process it started
/// (backends, autovacuum, the writers), and the time of its children that have exited
/// (the postmaster's cutime + cstime), so a backend that ends inside a measured window is
/// still counted.
enum ProcessUsage {
    /// Clock ticks per second of /proc's times (`_SC_CLK_TCK`).
    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// utime + stime, cutime + cstime and the parent of one process; nil when it is gone.
    static func times(of pid: Int32) -> (own: Int, children: Int, parent: Int32)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may hold spaces): state, ppid, ... utime is
        // the 14th field of the line, so the 12th after the name.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 14, let parent = Int32(fields[1]), let utime = Int(fields[11]), let stime = Int(fields[12]),
            let cutime = Int(fields[13]), let cstime = Int(fields[14])
        else { return nil }
        return (utime + stime, cutime + cstime, parent)
    }

    /// CPU seconds used so far by one process (its own, not its children's).
    static func seconds(of pid: Int32) -> Double? {
        times(of: pid).map { Double($0.own) / ticksPerSecond }
    }

    /// CPU seconds used so far by a PostgreSQL cluster, given its postmaster's pid.
    static func postgresSeconds(postmaster: Int32) -> Double? {
        guard let root = times(of: postmaster) else { return nil }
        var ticks = root.own + root.children
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), pid != postmaster, let child = times(of: pid), child.parent == postmaster else {
                continue
            }
            ticks += child.own
        }
        return Double(ticks) / ticksPerSecond
    }

    /// Peak and current resident memory of a process, in kB (VmHWM, VmRSS).
    static func memory(of pid: Int32) -> (peakKB: Int, currentKB: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        var peak = 0
        var current = 0
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let value = Int(parts[1]) else { continue }
            if line.hasPrefix("VmHWM:") { peak = value }
            if line.hasPrefix("VmRSS:") { current = value }
        }
        return (peak, current)
    }
}

/// CPU of the process under test and of PostgreSQL over one measured window.
struct CPUWindow {
    let servicePID: Int32?
    let postmasterPID: Int32?
    private var serviceStart: Double?
    private var postgresStart: Double?

    /// Starts the window now. A nil pid is not measured; `servicePID` 0 means this process.
    init(servicePID: Int32?, postmasterPID: Int32?) {
        self.servicePID = servicePID.map { $0 == 0 ? getpid() : $0 }
        self.postmasterPID = postmasterPID
        serviceStart = self.servicePID.flatMap(ProcessUsage.seconds(of:))
        postgresStart = postmasterPID.flatMap { ProcessUsage.postgresSeconds(postmaster: $0) }
    }

    /// CPU seconds since the window started: the service's and PostgreSQL's.
    func elapsed() -> (service: Double?, postgres: Double?) {
        let service = both(serviceStart, servicePID.flatMap(ProcessUsage.seconds(of:))).map { $1 - $0 }
        let postgres = both(postgresStart, postmasterPID.flatMap { ProcessUsage.postgresSeconds(postmaster: $0) }).map {
            $1 - $0
        }
        return (service, postgres)
    }
}

private func both<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}

/// One benchmark phase's figures, printed as one JSON object on standard output for
/// scripts/bench to collect (logs go to standard error).
struct PhaseResult {
    private var fields: [String: Any] = [:]

    init(phase: String) { fields["phase"] = phase }

    subscript(key: String) -> Any? {
        get { fields[key] }
        set { fields[key] = newValue }
    }

    /// Milliseconds with two decimals: enough for latencies, short to read.
    static func ms(_ duration: Duration) -> Double {
        (seconds(duration) * 100_000).rounded() / 100
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func rounded(_ value: Double, places: Int = 2) -> Double {
        let scale = pow(10, Double(places))
        return (value * scale).rounded() / scale
    }

    /// Adds the CPU of a window as milliseconds per unit of work (`cpu_ms_per_<unit>`).
    mutating func addCPU(_ window: CPUWindow, units: Int, unit: String, service: String = "service") {
        let (serviceSeconds, postgresSeconds) = window.elapsed()
        if let serviceSeconds {
            fields["\(service)_cpu_s"] = Self.rounded(serviceSeconds, places: 3)
            if units > 0 { fields["\(service)_cpu_ms_per_\(unit)"] = Self.rounded(serviceSeconds * 1000 / Double(units), places: 3) }
        }
        if let postgresSeconds {
            fields["postgres_cpu_s"] = Self.rounded(postgresSeconds, places: 3)
            if units > 0 { fields["postgres_cpu_ms_per_\(unit)"] = Self.rounded(postgresSeconds * 1000 / Double(units), places: 3) }
        }
    }

    func print() {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        Swift.print(String(decoding: data, as: UTF8.self))
        // Standard output is a pipe to scripts/bench: the line must leave before the process does.
        fflush(nil)
    }
}

/// Latencies of one kind of request, summarised by nearest rank.
struct LatencySample {
    private(set) var values: [Duration] = []

    mutating func append(_ value: Duration) { values.append(value) }
    mutating func append(contentsOf other: LatencySample) { values += other.values }

    var count: Int { values.count }

    /// The `q` quantile (0...1) by nearest rank; zero when empty.
    func quantile(_ q: Double, sorted: [Duration]? = nil) -> Duration {
        let ordered = sorted ?? values.sorted()
        guard !ordered.isEmpty else { return .zero }
        let rank = Int((Double(ordered.count) * q).rounded(.up))
        return ordered[min(max(rank, 1), ordered.count) - 1]
    }

    /// p50, p99 and max in milliseconds, under `prefix`.
    func summarise(into result: inout PhaseResult, prefix: String) {
        let ordered = values.sorted()
        result["\(prefix)_p50_ms"] = PhaseResult.ms(quantile(0.5, sorted: ordered))
        result["\(prefix)_p99_ms"] = PhaseResult.ms(quantile(0.99, sorted: ordered))
        result["\(prefix)_max_ms"] = PhaseResult.ms(ordered.last ?? .zero)
        result["\(prefix)_count"] = ordered.count
    }
}

/// Runs `body` with a time limit; past it the work is cancelled and the phase fails, so no
/// benchmark phase can wait forever.
func withPhaseTimeout<T: Sendable>(
    _ limit: Duration, phase: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw CLIError("bench \(phase): no result within \(limit)")
        }
        return value
    }
}
