import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// pyx12's validator (`pyx12.scripts.x12valid`, in the test tools' Python named by
/// `CLAIMFLOW_PYTHON`), which knows the 837P, 999, 277CA and 835 implementation guides.
///
/// Its exit status is not reliable, so the verdict is read from its output: the file's
/// `FILE: OK` line, and no `ERROR` log line. One ERROR line is not about the file: pyx12
/// answers every file with a 999 of its own built from ST03, and logs "Failed to create 999
/// response" for an 835, whose guide leaves ST03 out.
enum X12Valid {
    struct Verdict {
        let ok: Bool
        let output: String
    }

    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    /// Validates a copy of `file` (x12valid writes its own answer next to the file it reads).
    static func validate(_ file: URL) throws -> Verdict {
        try validate(text: String(contentsOf: file, encoding: .utf8), name: file.lastPathComponent)
    }

    /// Validates `text`, written to a temporary file called `name`.
    static func validate(text: String, name: String) throws -> Verdict {
        guard let python = ProcessInfo.processInfo.environment["CLAIMFLOW_PYTHON"], !python.isEmpty,
            FileManager.default.isExecutableFile(atPath: python)
        else {
            throw SetupError(
                description: "CLAIMFLOW_PYTHON is not set to the test tools' Python: run the tests with scripts/test, which installs them")
        }
        let directory = FileManager.default.temporaryDirectory.appending(path: "claimflow-x12valid-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appending(path: name)
        try text.write(to: file, atomically: true, encoding: .utf8)
        let log = directory.appending(path: "x12valid.log")
        try run(python, ["-m", "pyx12.scripts.x12valid", file.path], output: log.path)
        let output = try String(contentsOf: log, encoding: .utf8)
        let lines = output.split(separator: "\n").map(String.init)
        let errors = lines.filter { $0.contains(" ERROR ") && !$0.contains("Failed to create 999 response") }
        return Verdict(ok: lines.contains("\(file.path): OK") && errors.isEmpty, output: output)
    }

    /// Runs a program to its end with standard output and error in `output`. Foundation's
    /// `Process` can miss a child's exit on Linux when waited for from the concurrency pool.
    private static func run(_ executable: String, _ arguments: [String], output: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw SetupError(description: "cannot run \(executable): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) != pid {
            guard errno == EINTR else {
                throw SetupError(description: "cannot wait for \(executable): \(String(cString: strerror(errno)))")
            }
        }
    }
}
