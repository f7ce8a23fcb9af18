import Foundation

/// The Python interpreter of the test tools' virtual environment (openapi-spec-validator and,
/// later, pyx12), made by scripts/test and named by `CLAIMFLOW_PYTHON`.
public enum PythonTools {
    public static func interpreter() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["CLAIMFLOW_PYTHON"], !path.isEmpty,
            FileManager.default.isExecutableFile(atPath: path)
        else {
            throw TestSetupError(
                "CLAIMFLOW_PYTHON is not set to the test tools' Python: run the tests with scripts/test, which installs them"
            )
        }
        return path
    }
}
