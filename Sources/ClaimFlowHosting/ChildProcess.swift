public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starts programs and collects their exit status with posix_spawn and waitpid.
///
/// Foundation's `Process` can fail to notice a child's exit on Linux when used from the
/// concurrency thread pool (the child stays a zombie and `waitUntilExit()` never returns), and
/// `pg_ctl start` leaves a daemon behind, so output goes to files rather than pipes.
public enum ChildProcess {
    /// A finished program's exit status (128 + signal when killed) and combined output.
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
    }

    /// Runs a program to completion, blocking the calling thread; for short commands.
    public static func run(_ executable: String, _ arguments: [String]) throws -> Outcome {
        let outputPath = FileManager.default.temporaryDirectory
            .appending(path: "claimflow-child-\(UUID().uuidString).log").path
        defer { unlink(outputPath) }
        let pid = try spawn(executable, arguments, standardOutput: outputPath, standardError: nil)
        var status: Int32?
        while status == nil { status = try exitStatus(of: pid, waiting: true) }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Outcome(status: status ?? -1, output: output)
    }

    /// Starts a program with standard input from /dev/null and its output in files (standard
    /// error joins standard output when `standardError` is nil). Returns the process id.
    public static func spawn(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        standardOutput: String,
        standardError: String?
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if let standardError {
            posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for pointer in envp ?? [] { free(pointer) } }
        var pid = pid_t()
        let spawned =
            if var envp {
                posix_spawn(&pid, executable, &actions, nil, argv, &envp)
            } else {
                posix_spawn(&pid, executable, &actions, nil, argv, environ)
            }
        guard spawned == 0 else {
            throw ChildProcessError(executable: executable, reason: String(cString: strerror(spawned)))
        }
        return pid
    }

    /// The exit status of `pid` once it has exited (reaping it), or nil while it runs and
    /// `waiting` is false.
    public static func exitStatus(of pid: pid_t, waiting: Bool) throws -> Int32? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, waiting ? 0 : WNOHANG)
            if result == pid { break }
            if result == 0 { return nil }
            guard errno == EINTR else {
                throw ChildProcessError(executable: "pid \(pid)", reason: String(cString: strerror(errno)))
            }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// A program could not be started or waited for.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let executable: String
    public let reason: String

    public var description: String { "cannot run \(executable): \(reason)" }
}
