import ArgumentParser

/// `claimflow`: the ClaimFlow service and its operator commands (started by `main.swift`).
struct ClaimFlowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "claimflow",
        abstract: "ClaimFlow: the work queue between medical coders and billers.",
        subcommands: [
            ServeCommand.self, WorkCommand.self, MigrateCommand.self, DemoCommand.self, UsersCommand.self, CodesCommand.self,
            OutboxCommand.self, BenchCommand.self,
        ]
    )
}

extension ClaimFlowCommand {
    /// Parses the command line and runs the command, as `@main` on the command would; `main.swift`
    /// calls it once it has set up the executor. Spelled out because a bare `main()` call from
    /// top-level code resolves to the synchronous one, which does not run async subcommands.
    static func start() async {
        do {
            var command = try await asyncParseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
