import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import ClaimFlowWorkers
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite("837P output")
struct SubmissionTests {
    static func person(_ first: String, _ last: String, _ birth: String, _ sex: Sex) -> Person {
        Person(
            firstName: first, lastName: last, birthDate: CalendarDate(birth)!, sex: sex,
            address: PostalAddress(line1: "400 Oak Avenue", line2: "Apt 2", city: "Springfield", state: "IL", postalCode: "627040000")
        )
    }

    @Test(
        "every kind of claim ClaimFlow writes passes pyx12",
        arguments: [
            "one line", "many lines", "12 diagnoses", "4 modifiers", "patient not the subscriber", "replacement claim",
            "names with * ~ :",
        ])
    func pyx12Accepts(_ name: String) async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let biller = try await fixture.user("biller", roles: [.biller])
            var codes = CodeAssignment(diagnoses: ["E119"], lines: [ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1])])
            var patient: Person?
            var subscriber: Person?
            switch name {
            case "many lines":
                codes.diagnoses = ["E119", "I10", "E785"]
                codes.lines = (0..<8).map { index in
                    ServiceLine(
                        code: ["99213", "36415", "93000", "J1100", "G0008", "81002", "85025", "80053"][index],
                        units: index == 3 ? 4 : 1, charge: Decimal(20 + index * 5) + 0.5, pointers: [1 + index % 3])
                }
            case "12 diagnoses":
                codes.diagnoses = ["E119", "I10", "E785", "F329", "K219", "J069", "M1711", "R079", "A09", "B20", "Z0000", "QA00101"]
                codes.lines = [ServiceLine(code: "99214", units: 1, charge: 180, pointers: [1, 2, 3, 4])]
            case "4 modifiers":
                codes.lines = [ServiceLine(code: "20610", modifiers: ["RT", "59", "XS", "25"], units: 1, charge: 95, pointers: [1])]
            case "patient not the subscriber":
                patient = Self.person("Maya", "Okafor", "2015-06-01", .female)
                subscriber = Self.person("James", "Okafor", "1984-03-12", .male)
            case "names with * ~ :":
                patient = Self.person("Ann*Marie", "O'Brien~Smith:Jr", "1970-01-01", .female)
            default:
                break
            }
            var claimID = try await fixture.submittedClaim(
                name.replacingOccurrences(of: " ", with: "-").filter { $0.isLetter || $0.isNumber || $0 == "-" },
                coder: coder, biller: biller, codes: codes, patient: patient, subscriber: subscriber
            )
            if name == "replacement claim" {
                // The real path: sent, denied by the payer's 835 for a reason billing fixes,
                // and replaced by a new claim version that billing submits.
                let original = claimID
                claimID = try await fixture.replacementClaim(of: original, biller: biller, remittanceControl: 2611)
                #expect(
                    try await fixture.count(
                        """
                        SELECT count(*)::int FROM claims
                        WHERE id = \(claimID) AND version = 2 AND frequency_code = '7' AND replaces_claim_id = \(original)
                          AND payer_claim_number = 'PAYER26110' AND status = 'submitted'
                        """
                    ) == 1
                )
            }
            let text = try await SubmissionStore(client: client, logger: TestDatabase.logger, queue: fixture.queue)
                .x12(ofClaim: claimID, settings: X12Settings())
            let verdict = try PyX12.validate(text: text, name: "claim")
            #expect(verdict.ok, "\(name): \(verdict.output)\n\(text)")
            switch name {
            case "12 diagnoses": #expect(text.contains("HI*ABK:E119*ABF:I10") && text.contains("ABF:QA00101"))
            case "4 modifiers": #expect(text.contains("SV1*HC:20610:RT:59:XS:25*95*UN*1"))
            case "patient not the subscriber": #expect(text.contains("PAT*19") && text.contains("NM1*QC*1*OKAFOR*MAYA"))
            case "replacement claim": #expect(text.contains(":B:7*") && text.contains("REF*F8*PAYER26110"))
            case "names with * ~ :": #expect(!text.contains("Ann*Marie") && text.contains("NM1*IL*1*O'BRIEN SMITH JR"))
            default: break
            }
        }
    }

    @Test("segregation of duties: where the practice asks, the coder never gets the claim, even by reassignment")
    func segregationOfDuties() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            try await client.query("UPDATE practices SET segregate_duties = true", logger: TestDatabase.logger)
            let both = try await fixture.user("both", roles: [.coder, .biller])
            let biller = try await fixture.user("biller", roles: [.biller])
            let id = try await fixture.receive("SOD-1")
            let lease = try #require(try await fixture.queue.pullNext(userID: both, queue: .coding, audit: .system))
            try await CodingStore(client: client, logger: TestDatabase.logger, queue: fixture.queue).saveDraft(
                encounterID: id, leaseID: lease.id, holder: both,
                codes: CodeAssignment(diagnoses: ["E119"], lines: [ServiceLine(code: "99213", units: 1, charge: 90, pointers: [1])]),
                audit: .system
            )
            try await fixture.queue.finish(
                encounterID: id, leaseID: lease.id, holder: both, queue: .coding, to: .coded, action: "coding.completed", audit: .system
            )
            try await ClaimStore(client: client, logger: TestDatabase.logger, queue: fixture.queue).handOff(encounterID: id, audit: .system)

            #expect(try await fixture.queue.pullNext(userID: both, queue: .billing, audit: .system) == nil)
            let error = await #expect(throws: StoreError.self) {
                _ = try await fixture.queue.reassign(encounterID: id, to: both, reason: nil, audit: .system)
            }
            #expect(error?.code == .invalidAssignee)
            #expect(try await fixture.queue.pullNext(userID: biller, queue: .billing, audit: .system)?.encounterID == id)

            // Without segregation, the same person may do both.
            try await client.query("UPDATE practices SET segregate_duties = false", logger: TestDatabase.logger)
            try await fixture.queue.releaseLease(encounterID: id, reason: nil, audit: .system)
            #expect(try await fixture.queue.pullNext(userID: both, queue: .billing, audit: .system)?.encounterID == id)
        }
    }

    /// An X12 file as segments of elements. The files end each segment with `~` and a line feed.
    static func segments(of text: String) -> [[String]] {
        text.split(separator: "~").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
            .map { $0.components(separatedBy: "*") }
    }

    @Test("the batcher puts each submitted claim in one interchange; control numbers never repeat; files pass pyx12")
    func batcherOutput() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let biller = try await fixture.user("biller", roles: [.biller])
            let outbox = FileManager.default.temporaryDirectory.appending(path: "claimflow-outbox-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: outbox) }
            let batcher = SubmissionBatcher(
                client: client, queue: fixture.queue, outbox: outbox, settings: X12Settings(), logger: TestDatabase.logger,
                batchSize: 2
            )
            // Three passes of the batcher, each over claims submitted since the last one.
            var submitted: [UUID] = []
            for (pass, count) in [5, 3, 1].enumerated() {
                for index in 0..<count {
                    submitted.append(try await fixture.submittedClaim("OUT-\(pass)-\(index)", coder: coder, biller: biller))
                }
                #expect(try await batcher.runOnce() == count)
                #expect(try await batcher.runOnce() == 0)
            }
            let files = try FileManager.default.contentsOfDirectory(atPath: outbox.path).filter { $0.hasSuffix(".837") }.sorted()
            #expect(files.count == 3 + 2 + 1)

            var interchangeNumbers: [String] = []
            var groupNumbers: [String] = []
            var transactionIDs: [String] = []
            var claimNumbers: [String] = []
            for file in files {
                let text = try String(contentsOf: outbox.appending(path: file), encoding: .utf8)
                let segments = Self.segments(of: text)
                let isa = try #require(segments.first { $0[0] == "ISA" })
                let iea = try #require(segments.first { $0[0] == "IEA" })
                let gs = try #require(segments.first { $0[0] == "GS" })
                let ge = try #require(segments.first { $0[0] == "GE" })
                #expect(iea[2] == isa[13], "\(file): IEA02 \(iea[2]) is not ISA13 \(isa[13])")
                #expect(ge[2] == gs[6], "\(file): GE02 \(ge[2]) is not GS06 \(gs[6])")
                #expect(file == "claimflow-\(isa[13]).837")
                interchangeNumbers.append(isa[13])
                groupNumbers.append(gs[6])
                // Within the group: one ST02 per transaction set, none twice, each closed by
                // its own SE02, as many as GE01 says.
                let sets = segments.filter { $0[0] == "ST" }.map { $0[2] }
                #expect(sets.count == Set(sets).count, "\(file): ST02 repeats within the group: \(sets)")
                #expect(segments.filter { $0[0] == "SE" }.map { $0[2] } == sets)
                #expect(ge[1] == String(sets.count))
                // BHT03 (ISA13 and ST02) names each transaction set across every file.
                transactionIDs += segments.filter { $0[0] == "BHT" }.map { $0[3] }
                claimNumbers += segments.filter { $0[0] == "CLM" }.map { $0[1] }
                let verdict = try PyX12.validate(outbox.appending(path: file))
                #expect(verdict.ok, "\(file): \(verdict.output)")
            }
            // Control numbers never repeat, within a pass or across passes.
            #expect(Set(interchangeNumbers).count == files.count, "ISA13 repeats: \(interchangeNumbers)")
            #expect(Set(groupNumbers).count == files.count, "GS06 repeats: \(groupNumbers)")
            #expect(Set(transactionIDs).count == submitted.count, "a transaction set id repeats: \(transactionIDs)")

            // Every submitted claim is in exactly one interchange: the same set, no claim twice.
            let expected = submitted.map { X12Claim.patientControlNumber(for: $0) }
            #expect(claimNumbers.count == submitted.count, "\(claimNumbers.count) claims in the files, \(submitted.count) submitted")
            #expect(Set(claimNumbers) == Set(expected))
            var recorded: [UUID] = []
            let rows = try await client.query("SELECT claim_id FROM interchange_claims", logger: TestDatabase.logger)
            for try await id in rows.decode(UUID.self) { recorded.append(id) }
            #expect(recorded.count == submitted.count)
            #expect(Set(recorded) == Set(submitted))
            #expect(try await fixture.count("SELECT count(*)::int FROM interchanges WHERE written_at IS NULL") == 0)
        }
    }
}
