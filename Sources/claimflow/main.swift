import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

// Swift Concurrency's jobs run on NIO's event loops rather than a pool of their own, so a request
// handler, its socket and its database connection share a thread instead of hopping between two
// pools on every await (the coder-cycle profile spent a fifth of the service's CPU in the kernel,
// mostly waking the other pool). Must happen before the first task starts: here, on the main
// thread, before any `await`. `CLAIMFLOW_NIO_EXECUTOR=off` keeps Swift's own pool (for comparing).
if ProcessInfo.processInfo.environment["CLAIMFLOW_NIO_EXECUTOR"] != "off" {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
await ClaimFlowCommand.start()
