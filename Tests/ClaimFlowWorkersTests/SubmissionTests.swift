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
            let claimID = try await fixture.submittedClaim(
                name.replacingOccurrences(of: " ", with: "-").filter { $0.isLetter || $0.isNumber || $0 == "-" },
                coder: coder, biller: biller, codes: codes, patient: patient, subscriber: subscriber
            )
            if name == "replacement claim" {
                let original = try await fixture.submittedClaim("ORIGINAL", coder: coder, biller: biller)
                try await client.query(
                    """
                    UPDATE claims SET frequency_code = '7', replaces_claim_id = \(original), payer_claim_number = 'PCN20261102001'
                    WHERE id = \(claimID)
                    """,
                    logger: TestDatabase.logger
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
            case "replacement claim": #expect(text.contains(":B:7*") && text.contains("REF*F8*PCN20261102001"))
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

    @Test("the batcher puts each submitted claim in one interchange; control numbers never repeat; files pass pyx12")
    func batcherOutput() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let biller = try await fixture.user("biller", roles: [.biller])
            var claims: [UUID] = []
            for index in 0..<5 { claims.append(try await fixture.submittedClaim("OUT-\(index)", coder: coder, biller: biller)) }
            let outbox = FileManager.default.temporaryDirectory.appending(path: "claimflow-outbox-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: outbox) }
            let batcher = SubmissionBatcher(
                client: client, queue: fixture.queue, outbox: outbox, settings: X12Settings(), logger: TestDatabase.logger,
                batchSize: 2
            )
            #expect(try await batcher.runOnce() == 5)
            #expect(try await batcher.runOnce() == 0)
            let files = try FileManager.default.contentsOfDirectory(atPath: outbox.path).filter { $0.hasSuffix(".837") }.sorted()
            #expect(files.count == 3)
            var controls: [String] = []
            var clms = 0
            for file in files {
                let url = outbox.appending(path: file)
                let text = try String(contentsOf: url, encoding: .utf8)
                controls.append(String(text.dropFirst(90).prefix(9)))
                clms += text.components(separatedBy: "\nCLM*").count - 1
                let verdict = try PyX12.validate(url)
                #expect(verdict.ok, "\(file): \(verdict.output)")
            }
            #expect(Set(controls).count == 3)
            #expect(clms == 5)
            #expect(try await fixture.count("SELECT count(*)::int FROM interchange_claims") == 5)
            #expect(try await fixture.count("SELECT count(*)::int FROM interchanges WHERE written_at IS NULL") == 0)
        }
    }
}
