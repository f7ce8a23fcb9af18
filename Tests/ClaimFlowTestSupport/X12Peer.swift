import ClaimFlowHosting
public import Foundation

/// LinuxForHealth x12 (PyPI `linuxforhealth-x12`), the second, independent validator of the
/// 837P files ClaimFlow writes. It needs pydantic 1 while the other test tools need pydantic 2,
/// so scripts/test keeps it in a virtual environment of its own, named by `CLAIMFLOW_X12_PEER`.
public enum X12Peer {
    /// Validates one X12 file with `Tests/x12/lfh_validate.py`; the verdict is its `OK` line.
    public static func validate(_ file: URL) throws -> PyX12.Verdict {
        guard let python = ProcessInfo.processInfo.environment["CLAIMFLOW_X12_PEER"], !python.isEmpty,
            FileManager.default.isExecutableFile(atPath: python)
        else {
            throw TestSetupError(
                "CLAIMFLOW_X12_PEER is not set to the Python with linuxforhealth-x12: run the tests with scripts/test, which installs it"
            )
        }
        let script = FixtureFiles.root.appending(path: "Tests/x12/lfh_validate.py").path
        let outcome = try ChildProcess.run(python, [script, file.path])
        let ok = outcome.status == 0 && outcome.output.contains("\(file.path): OK")
        return PyX12.Verdict(ok: ok, output: outcome.output)
    }
}
