public import ClaimFlowCore
public import ClaimFlowStore
public import Foundation
public import Logging
public import PostgresNIO

#if canImport(Glibc)
import Glibc
#endif

/// Sends submitted claims out: collects them into X12 837P interchanges and writes each
/// interchange into the outbox folder, for the clearinghouse connection to pick up.
///
/// Exactly once per claim version, even when killed: an interchange is recorded in the
/// database (claims, control numbers, full text) before its file is written; the file is
/// written to a temporary name, synced and renamed into place; only then is it marked
/// written. On start, and on every pass, recorded but unwritten interchanges are written again
/// from their records: the same name and the same bytes.
///
/// One writer at a time: the whole pass (unwritten files, the next record, its file, the mark)
/// runs under the batcher's pass lock, so batchers in `serve`, `work` and `outbox flush` never
/// write the same file at once. Temporary files are still unique to their writer and created
/// with `O_EXCL`, so even two writers that overlapped (a lost lock connection) could never
/// truncate each other's file. A claim the 837P writer refuses leaves the outbox and goes back
/// to billing (see ``SubmissionStore/recordNextInterchange(limit:settings:now:)``).
public struct SubmissionBatcher: PeriodicWork {
    public let name = "submission batcher"
    let store: SubmissionStore
    let outbox: URL
    let settings: X12Settings
    public let logger: Logger
    let batchSize: Int
    public let interval: Duration

    public init(
        client: PostgresClient,
        queue: WorkQueue,
        outbox: URL,
        settings: X12Settings,
        logger: Logger,
        batchSize: Int = 100,
        interval: Duration = .seconds(2)
    ) {
        self.store = SubmissionStore(client: client, logger: logger, queue: queue)
        self.outbox = outbox
        self.settings = settings
        self.logger = logger
        self.batchSize = batchSize
        self.interval = interval
    }

    /// One interchange a pass, so a graceful shutdown waits for one file at most; a pass that
    /// sent one is full, since the outbox may hold more. A pass while another batcher holds the
    /// pass lock does nothing: that one is sending.
    public func runPass() async throws -> PassOutcome {
        guard let sent = try await sendNextInterchange(waitForLock: false, pauseAfterWrite: nil) else { return .done }
        logger.info("claims sent to the outbox", metadata: ["claims": "\(sent)"])
        return .full
    }

    /// Writes any recorded but unwritten interchanges, then batches the outbox until it is
    /// empty, waiting its turn while another batcher holds the pass lock. Returns the number of
    /// claims newly batched by this one.
    ///
    /// `pauseAfterWrite` holds the pass between writing a file and marking it written: the
    /// window a crash test aims its SIGKILL at.
    public func runOnce(pauseAfterWrite: Duration? = nil) async throws -> Int {
        var sent = 0
        while let claims = try await sendNextInterchange(waitForLock: true, pauseAfterWrite: pauseAfterWrite) { sent += claims }
        return sent
    }

    /// Under the pass lock: writes any recorded but unwritten interchanges, then records and
    /// writes the next one. Returns its number of claims, or nil when the outbox had nothing to
    /// batch or (without `waitForLock`) another batcher holds the lock.
    private func sendNextInterchange(waitForLock: Bool, pauseAfterWrite: Duration?) async throws -> Int? {
        let sent = try await store.withPassLock(wait: waitForLock) { () async throws -> Int? in
            try FileManager.default.createDirectory(at: outbox, withIntermediateDirectories: true)
            removeAbandonedTemporaryFiles()
            for interchange in try await store.unwrittenInterchanges() {
                try await write(interchange, pauseAfterWrite: pauseAfterWrite)
            }
            guard let interchange = try await store.recordNextInterchange(limit: batchSize, settings: settings) else {
                return nil
            }
            try await write(interchange, pauseAfterWrite: pauseAfterWrite)
            return interchange.claimIDs.count
        }
        return sent ?? nil
    }

    private func write(_ interchange: SubmissionStore.Interchange, pauseAfterWrite: Duration?) async throws {
        let target = outbox.appending(path: interchange.fileName)
        // Unique to this writer: no other process ever opens it.
        let temporary = outbox.appending(path: ".\(interchange.fileName).\(getpid()).\(UUID().uuidString.lowercased()).tmp")
        do {
            try Self.writeDurably(Data(interchange.content.utf8), to: temporary)
            guard rename(temporary.path, target.path) == 0 else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target.path])
            }
        } catch {
            unlink(temporary.path)
            throw error
        }
        Self.syncDirectory(outbox)
        logger.info(
            "interchange written",
            metadata: ["file": "\(interchange.fileName)", "claims": "\(interchange.claimIDs.count)"]
        )
        if let pauseAfterWrite { try await Task.sleep(for: pauseAfterWrite) }
        try await store.markWritten(interchange.id)
    }

    /// Removes temporary files a writer killed mid-write left behind. Only those older than
    /// ten minutes: a writer that lost its lock connection may still be writing a newer one.
    private func removeAbandonedTemporaryFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outbox.path)) ?? []
        let cutoff = Date().addingTimeInterval(-600)
        for name in names where name.hasPrefix(".claimflow-") && name.hasSuffix(".tmp") {
            let file = outbox.appending(path: name)
            let modified = (try? FileManager.default.attributesOfItem(atPath: file.path)[.modificationDate]) as? Date
            if let modified, modified < cutoff { unlink(file.path) }
        }
    }

    /// Writes and fsyncs a new file (`O_EXCL`: never one that exists), so a rename after it
    /// publishes complete bytes only.
    static func writeDurably(_ data: Data, to url: URL) throws {
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL, 0o640)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: url.path]) }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { buffer in Glibc.write(descriptor, buffer.baseAddress, buffer.count) }
        guard written == data.count, fsync(descriptor) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
    }

    /// Syncs the folder, so the rename itself survives a power loss.
    static func syncDirectory(_ url: URL) {
        let descriptor = open(url.path, O_RDONLY)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
