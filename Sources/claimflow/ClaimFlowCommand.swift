import ArgumentParser

/// `claimflow`: the ClaimFlow service and its operator commands.
@main
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
