import Foundation
import PackagePlugin

/// Embeds text files into the binary at build time, so an installed `claimflow` needs no
/// checkout: for ClaimFlowStore the package's `sql/` migrations (`embeddedMigrationFiles`),
/// for ClaimFlowAPI its `Assets/` folder: the OpenAPI document, served as-is, and the
/// dashboard's files (`embeddedAssetFiles`).
@main
struct EmbedTextFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let (directory, variable, extensions): (URL, String, Set<String>) =
            target.name == "ClaimFlowAPI"
            ? (target.directoryURL.appending(path: "Assets"), "embeddedAssetFiles", ["html", "css", "js", "svg", "yaml"])
            : (context.package.directoryURL.appending(path: "sql"), "embeddedMigrationFiles", ["sql"])
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { extensions.contains($0.pathExtension) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "Embedded-\(variable).swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) files as \(variable)",
                executable: try context.tool(named: "claimflow-embed-text").url,
                arguments: [output.path, variable] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }
}
