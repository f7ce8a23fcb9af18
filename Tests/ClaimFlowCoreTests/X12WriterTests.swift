import ClaimFlowCore
import Foundation
import Testing

/// Sample claims built from valid NPIs and codes, so only what a test changes can fail.
private enum Sample {
    static let billingNPI = "1234567893"
    static let renderingNPI = NPI.withCheckDigit(firstNine: "987654321")!.digits
    static let dateOfService = CalendarDate("2026-03-10")!

    static let practice = Practice(
        code: "DEMO", name: "Riverside Family Medicine", npi: billingNPI, taxID: "12-3456789", taxonomy: "207Q00000X",
        address: PostalAddress(line1: "100 Main St", line2: "Suite 200", city: "Springfield", state: "IL", postalCode: "62701-1234"))

    static let subscriber = Person(
        firstName: "Sean", lastName: "O'Brien", birthDate: CalendarDate("1980-04-02")!, sex: .male,
        address: PostalAddress(line1: "12 Elm St", city: "Springfield", state: "IL", postalCode: "62704"))

    static let child = Person(
        firstName: "Lena", lastName: "Müller", birthDate: CalendarDate("2015-09-30")!, sex: .female,
        address: PostalAddress(line1: "12 Elm St", city: "Springfield", state: "IL", postalCode: "62704"))

    static let officeVisit = ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1])

    static func envelope(interchange: Int = 42, group: Int = 7) -> X12Envelope {
        X12Envelope(
            senderID: "CLAIMFLOW", receiverID: "CLEARHOUSE", submitterName: "ClaimFlow Billing",
            submitterContactName: "Billing Desk", submitterContactPhone: "(555) 010-2000",
            receiverName: "Example Clearinghouse", interchangeControlNumber: interchange, groupControlNumber: group,
            usage: .test, createdAt: Date(timeIntervalSince1970: 1_773_150_000))
    }

    static func claim(
        id: UUID = UUID(), lines: [ServiceLine] = [officeVisit], diagnoses: [String] = ["E11.9"],
        frequencyCode: String = "1", payerClaimControlNumber: String? = nil, relationship: String = "18",
        subscriber: Person = subscriber, patient: Person = subscriber,
        renderingNPI: String = renderingNPI, payer: Payer = Payer(payerCode: "60054", name: "Aetna"),
        billingProvider: Practice = practice
    ) -> X12Claim {
        X12Claim(
            claimID: id, frequencyCode: frequencyCode, payerClaimControlNumber: payerClaimControlNumber,
            totalCharge: lines.reduce(0) { $0 + $1.charge }, placeOfService: "11", dateOfService: dateOfService,
            billingProvider: billingProvider,
            renderingProvider: .init(npi: renderingNPI, firstName: "Ana", lastName: "Garcia", taxonomy: "207Q00000X"),
            payer: payer, memberID: "W123456789", groupNumber: "GRP-0042",
            subscriber: subscriber, relationship: relationship, patient: patient, diagnoses: diagnoses, lines: lines)
    }
}

/// The interchange split back into segments of elements, for checking structure.
private struct Parsed {
    let text: String
    let segments: [[String]]

    init(_ text: String) {
        self.text = text
        segments = text.split(separator: "~").map { $0.trimmingCharacters(in: .newlines) }.filter { !$0.isEmpty }
            .map { $0.split(separator: "*", omittingEmptySubsequences: false).map(String.init) }
    }

    func all(_ id: String) -> [[String]] { segments.filter { $0[0] == id } }
    func first(_ id: String, _ qualifier: String? = nil) -> [String]? {
        segments.first { $0[0] == id && (qualifier == nil || $0.count > 1 && $0[1] == qualifier) }
    }

    /// Each ST...SE transaction set.
    var transactionSets: [[[String]]] {
        var sets: [[[String]]] = []
        for segment in segments {
            if segment[0] == "ST" { sets.append([]) }
            if !sets.isEmpty, sets[sets.count - 1].last?[0] != "SE" { sets[sets.count - 1].append(segment) }
        }
        return sets
    }
}

private func write(_ claims: [X12Claim], envelope: X12Envelope = Sample.envelope()) throws -> Parsed {
    Parsed(try X12Writer.interchange(envelope, claims: claims))
}

@Suite("837P writer: envelope")
struct X12EnvelopeTests {
    @Test("ISA is exactly 106 characters, terminator included, with the 5010 separators")
    func isaIsFixedWidth() throws {
        let text = try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim()])
        let isa = String(text.prefix { $0 != "~" }) + "~"
        #expect(isa.count == 106)
        let elements = isa.dropLast().split(separator: "*", omittingEmptySubsequences: false)
        #expect(elements.count == 17)
        #expect(elements[6] == "CLAIMFLOW      ")
        #expect(elements[8] == "CLEARHOUSE     ")
        #expect(elements[9] == "260310" && elements[10] == "1340")
        #expect(elements[11] == "^" && elements[12] == "00501" && elements[16] == ":")
        #expect(elements[15] == "T")
    }

    @Test("control numbers are zero padded and match between headers and trailers")
    func controlNumbersMatch() throws {
        let claims = [Sample.claim(), Sample.claim(relationship: "19", patient: Sample.child), Sample.claim()]
        let parsed = try write(claims, envelope: Sample.envelope(interchange: 42, group: 7))
        let isa = try #require(parsed.first("ISA"))
        let iea = try #require(parsed.first("IEA"))
        #expect(isa[13] == "000000042")
        #expect(iea == ["IEA", "1", "000000042"])
        let gs = try #require(parsed.first("GS"))
        let ge = try #require(parsed.first("GE"))
        #expect(gs[6] == "7" && ge[2] == "7")
        #expect(gs[4] == "20260310" && gs[5] == "1340" && gs[8] == "005010X222A1")
        #expect(ge[1] == "3")
        let sets = parsed.transactionSets
        #expect(sets.map { $0.first![2] } == ["0001", "0002", "0003"])
        for set in sets {
            #expect(set.first![2] == set.last![2])
        }
    }

    @Test("SE counts every segment of its set, ST and SE included")
    func segmentCountsAreExact() throws {
        let eightLines = Array(repeating: ServiceLine(code: "99213", units: 1, charge: 10, pointers: [1]), count: 8)
        let claims = [
            Sample.claim(), Sample.claim(lines: eightLines), Sample.claim(relationship: "19", patient: Sample.child),
            Sample.claim(frequencyCode: "7", payerClaimControlNumber: "PAYER-1"),
        ]
        let sets = try write(claims).transactionSets
        #expect(sets.count == 4)
        for set in sets {
            #expect(set.first?[0] == "ST")
            #expect(set.last?[0] == "SE")
            #expect(set.last?[1] == String(set.count))
        }
    }

    @Test("BHT carries the creation date and time in UTC")
    func bhtDates() throws {
        let bht = try #require(try write([Sample.claim()]).first("BHT"))
        #expect(bht == ["BHT", "0019", "00", "0000000420001", "20260310", "1340", "CH"])
    }

    @Test("segments can be put on lines of their own")
    func newlines() throws {
        let text = try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim()], newlineAfterSegments: true)
        let lines = text.split(separator: "\n")
        #expect(lines.allSatisfy { $0.hasSuffix("~") && $0.filter { $0 == "~" }.count == 1 })
        #expect(lines.first?.count == 106)
    }

    @Test("the same claims are written byte for byte the same")
    func deterministic() throws {
        let claim = Sample.claim()
        #expect(
            try X12Writer.interchange(Sample.envelope(), claims: [claim])
                == X12Writer.interchange(Sample.envelope(), claims: [claim]))
    }
}

@Suite("837P writer: loops")
struct X12LoopTests {
    @Test("a self-insured patient has no patient loop")
    func subscriberIsPatient() throws {
        let parsed = try write([Sample.claim()])
        #expect(parsed.all("HL").map { Array($0.dropFirst()) } == [["1", "", "20", "1"], ["2", "1", "22", "0"]])
        #expect(parsed.first("SBR") == ["SBR", "P", "18", "GRP-0042", "", "", "", "", "", "CI"])
        #expect(parsed.first("PAT") == nil)
        #expect(parsed.first("NM1", "QC") == nil)
        #expect(parsed.first("NM1", "IL") == ["NM1", "IL", "1", "O'BRIEN", "SEAN", "", "", "", "MI", "W123456789"])
        #expect(parsed.all("DMG") == [["DMG", "D8", "19800402", "M"]])
    }

    @Test("a patient who is not the subscriber gets loop 2000C/2010CA")
    func dependentPatient() throws {
        let parsed = try write([Sample.claim(relationship: "19", patient: Sample.child)])
        let hl = parsed.all("HL").map { Array($0.dropFirst()) }
        #expect(hl == [["1", "", "20", "1"], ["2", "1", "22", "1"], ["3", "2", "23", "0"]])
        #expect(parsed.first("SBR")?[2] == "")
        #expect(parsed.first("PAT") == ["PAT", "19"])
        #expect(parsed.first("NM1", "QC") == ["NM1", "QC", "1", "MULLER", "LENA"])
        // The subscriber's DMG is sent only when the subscriber is the patient.
        #expect(parsed.all("DMG") == [["DMG", "D8", "20150930", "F"]])
        let ids = parsed.segments.map { $0[0] }
        #expect(ids.firstIndex(of: "PAT")! < ids.firstIndex(of: "CLM")!)
    }

    @Test("billing provider, payer and claim segments")
    func claimSegments() throws {
        let id = UUID(uuidString: "0A1B2C3D-4E5F-4061-8A7B-9C8D7E6F5A4B")!
        let parsed = try write([Sample.claim(id: id)])
        #expect(parsed.first("PRV", "BI") == ["PRV", "BI", "PXC", "207Q00000X"])
        #expect(parsed.first("NM1", "85") == ["NM1", "85", "2", "RIVERSIDE FAMILY MEDICINE", "", "", "", "", "XX", "1234567893"])
        #expect(parsed.first("N3") == ["N3", "100 MAIN ST", "SUITE 200"])
        #expect(parsed.first("N4") == ["N4", "SPRINGFIELD", "IL", "627011234"])
        #expect(parsed.first("REF", "EI") == ["REF", "EI", "123456789"])
        #expect(parsed.first("NM1", "PR") == ["NM1", "PR", "2", "AETNA", "", "", "", "", "PI", "60054"])
        #expect(parsed.first("CLM") == ["CLM", "0A1B2C3D4E5F40618A7B", "125", "", "", "11:B:1", "Y", "A", "Y", "Y"])
        #expect(parsed.first("NM1", "82") == ["NM1", "82", "1", "GARCIA", "ANA", "", "", "", "XX", Sample.renderingNPI])
        #expect(parsed.first("PRV", "PE") == ["PRV", "PE", "PXC", "207Q00000X"])
        #expect(parsed.first("LX") == ["LX", "1"])
        #expect(parsed.first("DTP") == ["DTP", "472", "D8", "20260310"])
        #expect(parsed.first("REF", "6R") == ["REF", "6R", "0A1B2C3D4E5F40618A7B-1"])
    }

    @Test("each service line ends with REF*6R, its line item control number, after DTP*472")
    func lineItemControlNumbers() throws {
        let id = UUID(uuidString: "0A1B2C3D-4E5F-4061-8A7B-9C8D7E6F5A4B")!
        let lines = [
            Sample.officeVisit, ServiceLine(code: "36415", units: 1, charge: 12, pointers: [1]),
            ServiceLine(code: "80053", units: 1, charge: 40, pointers: [1]),
        ]
        let parsed = try write([Sample.claim(id: id, lines: lines)])
        // Loop 2400 as the guide orders it: LX, SV1, DTP*472, then REF*6R; nothing after it but the next LX.
        let firstLX = try #require(parsed.segments.firstIndex { $0[0] == "LX" })
        let loops = parsed.segments[firstLX...].prefix { $0[0] != "SE" }
        #expect(loops.map { $0[0] } == Array(repeating: ["LX", "SV1", "DTP", "REF"], count: 3).flatMap { $0 })
        #expect(
            parsed.all("REF").filter { $0[1] == "6R" }.map { $0[2] } == [
                "0A1B2C3D4E5F40618A7B-1", "0A1B2C3D4E5F40618A7B-2", "0A1B2C3D4E5F40618A7B-3",
            ])
        #expect(X12Claim.lineItemControlNumber(patientControlNumber: "0A1B2C3D4E5F40618A7B", line: 3) == "0A1B2C3D4E5F40618A7B-3")
        // The set's count still covers every segment.
        let set = try #require(parsed.transactionSets.first)
        #expect(set.last?[1] == String(set.count))
    }

    @Test("REF*6R follows a patient control number the caller chose, up to its 38 characters")
    func lineItemControlNumberOfLongPCN() throws {
        let pcn = String(repeating: "7", count: 38)
        var claim = Sample.claim(lines: Array(repeating: Sample.officeVisit, count: 12))
        claim.patientControlNumber = pcn
        let references = try write([claim]).all("REF").filter { $0[1] == "6R" }.map { $0[2] }
        #expect(references == (1...12).map { "\(pcn)-\($0)" })
        #expect(references.allSatisfy { $0.count <= 50 })
    }

    @Test("SBR09 is the payer profile's claim filing indicator unless the claim names one")
    func claimFilingIndicatorFromPayer() throws {
        let medicare = Payer(payerCode: "MCRB1", name: "Medicare Part B", claimFilingIndicator: "MB")
        let parsed = try write([Sample.claim(payer: medicare)])
        #expect(parsed.first("SBR") == ["SBR", "P", "18", "GRP-0042", "", "", "", "", "", "MB"])
        var claim = Sample.claim(payer: medicare)
        claim.claimFilingIndicator = "mc"
        #expect(try write([claim]).first("SBR")?.last == "MC")
        #expect(X12Writer.claimFilingIndicators.count == 23 && X12Writer.claimFilingIndicators.contains("CI"))
    }

    @Test("a payer decoded from a snapshot older than payer profiles files as CI")
    func olderSnapshotPayer() throws {
        let old = #"{"payerCode":"60054","name":"Aetna","filingLimitDays":180}"#
        let payer = try JSONDecoder().decode(Payer.self, from: Data(old.utf8))
        #expect(payer == Payer(payerCode: "60054", name: "Aetna", filingLimitDays: 180))
        #expect(payer.claimFilingIndicator == "CI" && payer.acceptsCorrections && payer.correctedFilingLimitDays == 365)
        let profiled = Payer(
            payerCode: "MCRB1", name: "Medicare", claimFilingIndicator: "MB", acceptsCorrections: false,
            correctedFilingLimitDays: 120)
        #expect(try JSONDecoder().decode(Payer.self, from: JSONEncoder().encode(profiled)) == profiled)
    }

    @Test("the rendering provider loop is left out when it is the billing provider")
    func renderingSameAsBilling() throws {
        let parsed = try write([Sample.claim(renderingNPI: Sample.billingNPI)])
        #expect(parsed.first("NM1", "82") == nil)
    }

    @Test("REF*F8 carries the payer's claim number for replacements and voids", arguments: ["7", "8"])
    func payerClaimControlNumber(frequency: String) throws {
        let parsed = try write([Sample.claim(frequencyCode: frequency, payerClaimControlNumber: "2026031000123")])
        #expect(parsed.first("CLM")?[5] == "11:B:\(frequency)")
        #expect(parsed.first("REF", "F8") == ["REF", "F8", "2026031000123"])
        let ids = parsed.segments.map { $0[0] }
        let f8 = parsed.segments.firstIndex { $0[0] == "REF" && $0[1] == "F8" }
        #expect(ids.firstIndex(of: "CLM")! + 1 == f8)
    }

    @Test("an original claim has no REF*F8")
    func originalHasNoF8() throws {
        #expect(try write([Sample.claim()]).first("REF", "F8") == nil)
    }

    @Test("twelve diagnoses: the first principal (ABK), the others ABF, dots removed")
    func twelveDiagnoses() throws {
        let codes = ["E11.9", "I10", "E78.5", "Z79.84", "M54.5", "R53.83", "J30.1", "K21.9", "F41.9", "G47.00", "E66.9", "Z68.30"]
        let line = ServiceLine(code: "99215", units: 1, charge: 210, pointers: [1, 2, 3, 12])
        let parsed = try write([Sample.claim(lines: [line], diagnoses: codes)])
        let hi = try #require(parsed.first("HI"))
        #expect(hi.count == 13)
        #expect(hi[1] == "ABK:E119")
        #expect(hi[12] == "ABF:Z6830")
        #expect(hi.dropFirst(2).allSatisfy { $0.hasPrefix("ABF:") && !$0.contains(".") })
        #expect(parsed.first("SV1")?[7] == "1:2:3:12")
    }

    @Test("four modifiers follow the procedure code in SV101")
    func fourModifiers() throws {
        let line = ServiceLine(code: "20610", modifiers: ["RT", "59", "xs", "GA"], units: 1, charge: 180, pointers: [1])
        let sv1 = try #require(try write([Sample.claim(lines: [line])]).first("SV1"))
        #expect(sv1 == ["SV1", "HC:20610:RT:59:XS:GA", "180", "UN", "1", "", "", "1"])
    }

    @Test("amounts are written as X12 decimals, without trailing zeros")
    func amounts() throws {
        let lines = [
            ServiceLine(code: "99213", units: 1, charge: Decimal(string: "125.00")!, pointers: [1]),
            ServiceLine(code: "36415", units: Decimal(string: "2.5")!, charge: Decimal(string: "12.50")!, pointers: [1]),
            ServiceLine(code: "80053", units: 1, charge: Decimal(string: "40.25")!, pointers: [1]),
        ]
        let parsed = try write([Sample.claim(lines: lines)])
        #expect(parsed.all("SV1").map { $0[2] } == ["125", "12.5", "40.25"])
        #expect(parsed.all("SV1").map { $0[4] } == ["1", "2.5", "1"])
        #expect(parsed.first("CLM")?[2] == "177.75")
        #expect(parsed.all("LX").map { $0[1] } == ["1", "2", "3"])
    }
}

@Suite("837P writer: pyx12")
struct X12WriterPyX12Tests {
    @Test("REF*6R on every line, SBR09 from the payer profile and a ZIP+4 billing address pass pyx12")
    func passesPyX12() throws {
        let lines = [
            Sample.officeVisit, ServiceLine(code: "36415", units: 1, charge: 12, pointers: [1]),
            ServiceLine(code: "20610", modifiers: ["RT", "59"], units: 1, charge: 180, pointers: [1, 2]),
        ]
        let medicare = Payer(payerCode: "MCRB1", name: "Medicare Part B", claimFilingIndicator: "MB")
        let claims = [
            Sample.claim(lines: lines, diagnoses: ["E11.9", "I10"], payer: medicare),
            Sample.claim(relationship: "19", patient: Sample.child),
            Sample.claim(frequencyCode: "7", payerClaimControlNumber: "2026031000123", payer: medicare),
        ]
        let text = try X12Writer.interchange(Sample.envelope(), claims: claims, newlineAfterSegments: true)
        #expect(text.contains("SBR*P*18*GRP-0042******MB~") && text.contains("REF*6R*"))
        let verdict = try X12Valid.validate(text: text, name: "writer-837p.x12")
        #expect(verdict.ok, "\(verdict.output)\n\(text)")
    }
}

@Suite("837P writer: the loops payers ask for")
struct X12WriterDetailTests {
    static let referring = X12Claim.Clinician(
        npi: NPI.withCheckDigit(firstNine: "112233445")!.digits, firstName: "Ruth", lastName: "Okafor")
    static let facility = X12Claim.ServiceFacility(
        name: "Riverside Outpatient Surgery", npi: NPI.withCheckDigit(firstNine: "556677889")!.digits,
        address: PostalAddress(line1: "400 River Rd", city: "Springfield", state: "IL", postalCode: "62702"))
    static let anesthesia = ServiceLine(code: "00840", modifiers: ["AA"], units: 1, charge: 900, pointers: [1], anesthesiaMinutes: 95)
    static let drug = ServiceLine(
        code: "J1100", units: 4, charge: 24, pointers: [1], drug: DrugIdentification(ndc: "00641-0367-21", unit: "ml", quantity: 4))

    /// Every new loop and segment on one claim.
    static var everything: X12Claim {
        var claim = Sample.claim(lines: [Sample.officeVisit, anesthesia, drug], diagnoses: ["S06.0X0A", "E11.9"])
        claim.placeOfService = "22"
        claim.details = X12Claim.Details(
            referringProvider: referring, serviceFacility: facility, priorAuthorization: "PA-2026-0042", referralNumber: "RF 77*1",
            relatedCauses: ["AA", "EM"], accidentState: "il", accidentDate: CalendarDate("2026-03-01"),
            onsetDate: CalendarDate("2026-03-01"), initialTreatmentDate: CalendarDate("2026-03-02"),
            lastSeenDate: CalendarDate("2026-02-20"))
        return claim
    }

    /// One claim per new loop, each alone.
    static var eachAlone: [X12Claim] {
        let details: [X12Claim.Details] = [
            .init(referringProvider: referring), .init(serviceFacility: facility),
            .init(serviceFacility: .init(name: "Home Visit Team", address: facility.address)), .init(priorAuthorization: "PA1"),
            .init(referralNumber: "RF1"), .init(relatedCauses: ["OA"], accidentDate: CalendarDate("2026-03-01")),
            .init(relatedCauses: ["EM"]), .init(onsetDate: CalendarDate("2026-02-01")),
            .init(initialTreatmentDate: CalendarDate("2026-02-02")),
            .init(lastSeenDate: CalendarDate("2026-01-15")),
        ]
        var claims = details.map { detail in
            var claim = Sample.claim()
            claim.details = detail
            return claim
        }
        claims.append(Sample.claim(lines: [anesthesia]))
        claims.append(Sample.claim(lines: [drug]))
        // A person billing under their own NPI, who rendered the service: no 2310B.
        var solo = Sample.practice
        solo.individual = Practice.Individual(firstName: "Ana", lastName: "Garcia")
        solo.npi = Sample.renderingNPI
        claims.append(Sample.claim(billingProvider: solo))
        return claims
    }

    @Test("a claim with every new loop, and a claim for each loop alone, pass pyx12")
    func passPyX12() throws {
        let text = try X12Writer.interchange(Sample.envelope(), claims: [Self.everything] + Self.eachAlone, newlineAfterSegments: true)
        let verdict = try X12Valid.validate(text: text, name: "writer-837p-details.x12")
        #expect(verdict.ok, "\(verdict.output)\n\(text)")
    }

    @Test(
        "the new segments, in the guide's order: CLM11, DTP 431/454/304/439, REF 9F/G1, 2310A before 2310B, 2310C after, SV1 in minutes, LIN and CTP after REF*6R"
    )
    func segmentsInOrder() throws {
        let parsed = try write([Self.everything])
        let clm = try #require(parsed.first("CLM"))
        #expect(clm.count == 12 && clm[10] == "" && clm[11] == "AA:EM::IL", "\(clm)")
        let ids = parsed.segments.map { $0[0] + ($0.count > 1 ? "*" + $0[1] : "") }
        let claimPart = Array(ids.drop { $0 != "CLM*" + clm[1] })
        #expect(
            Array(claimPart.prefix(12)) == [
                "CLM*\(clm[1])", "DTP*431", "DTP*454", "DTP*304", "DTP*439", "REF*9F", "REF*G1", "HI*ABK:S060X0A", "NM1*DN",
                "NM1*82", "PRV*PE", "NM1*77",
            ], "\(claimPart)")
        #expect(parsed.first("REF", "9F") == ["REF", "9F", "RF 77 1"])
        #expect(parsed.first("NM1", "77") == ["NM1", "77", "2", "RIVERSIDE OUTPATIENT SURGERY", "", "", "", "", "XX", Self.facility.npi!])
        #expect(parsed.all("SV1")[1][3] == "MJ" && parsed.all("SV1")[1][4] == "95")
        #expect(parsed.first("LIN") == ["LIN", "", "N4", "00641036721"])
        #expect(parsed.first("CTP") == ["CTP", "", "", "", "4", "ML"])
        let lin = try #require(ids.firstIndex(of: "LIN*"))
        #expect(ids[lin - 1] == "REF*6R")
        // A person as the billing provider: NM102 1 with their name, and no 2310B of their own.
        var solo = Sample.practice
        solo.individual = Practice.Individual(firstName: "Ana", lastName: "Garcia")
        solo.npi = Sample.renderingNPI
        let individual = try write([Sample.claim(billingProvider: solo)])
        #expect(individual.first("NM1", "85") == ["NM1", "85", "1", "GARCIA", "ANA", "", "", "", "XX", Sample.renderingNPI])
        #expect(individual.first("NM1", "82") == nil)
        // A claim without details is written as before: no CLM11, no new segments.
        let plain = try write([Sample.claim()])
        #expect(plain.first("CLM")?.count == 10 && plain.first("LIN") == nil && plain.first("NM1", "DN") == nil)
    }

    @Test(
        "what the guide requires together is refused apart: an accident without its date, an auto accident without its state, a bad NDC or unit, a referring NPI that fails its check digit"
    )
    func refusals() throws {
        func claim(_ details: X12Claim.Details = .init(), drug: DrugIdentification? = nil) -> X12Claim {
            var claim = Sample.claim()
            claim.details = details
            if let drug {
                claim.lines = [ServiceLine(code: "J1100", units: 1, charge: 6, pointers: [1], drug: drug)]
                claim.totalCharge = 6
            }
            return claim
        }
        let refused: [(String, X12Claim)] = [
            ("AA without date", claim(.init(relatedCauses: ["AA"], accidentState: "IL"))),
            ("AA without state", claim(.init(relatedCauses: ["AA"], accidentDate: CalendarDate("2026-03-01")))),
            (
                "three causes",
                claim(.init(relatedCauses: ["AA", "EM", "OA"], accidentState: "IL", accidentDate: CalendarDate("2026-03-01")))
            ),
            ("NDC of 10 digits", claim(drug: .init(ndc: "0641036721", unit: "ML", quantity: 1))),
            ("unit XX", claim(drug: .init(ndc: "00641036721", unit: "XX", quantity: 1))),
            ("referring NPI 1234567890", claim(.init(referringProvider: .init(npi: "1234567890", firstName: "A", lastName: "B")))),
        ]
        for (name, claim) in refused {
            #expect(throws: X12Error.self, "\(name)") { try X12Writer.interchange(Sample.envelope(), claims: [claim]) }
        }
        #expect(throws: Never.self) {
            try X12Writer.interchange(Sample.envelope(), claims: [claim(drug: .init(ndc: "00641036721", unit: "ML", quantity: 1))])
        }
    }
}

@Suite("837P writer: text cleaning")
struct X12TextTests {
    @Test("separators and control characters in names and addresses do not break segments")
    func separatorsAreRemoved() throws {
        let subscriber = Person(
            firstName: "Jo*hn~", lastName: "Sm:ith^*~", birthDate: CalendarDate("1970-01-01")!, sex: .male,
            address: PostalAddress(line1: "1 Star*Way~\nApt 2", line2: "Unit #4^5", city: "Col:on", state: "il", postalCode: "62701"))
        let parsed = try write([Sample.claim(subscriber: subscriber, patient: subscriber)])
        #expect(parsed.first("NM1", "IL") == ["NM1", "IL", "1", "SM ITH", "JO HN", "", "", "", "MI", "W123456789"])
        #expect(parsed.all("N3")[1] == ["N3", "1 STAR WAY APT 2", "UNIT 4 5"])
        #expect(parsed.all("N4")[1] == ["N4", "COL ON", "IL", "62701"])
        // Nothing leaked: the set still has the segment count SE claims.
        let set = try #require(parsed.transactionSets.first)
        #expect(set.last?[1] == String(set.count))
    }

    @Test("accents and typographic punctuation become plain ASCII")
    func transliteration() throws {
        let patient = Person(
            firstName: "Zoë", lastName: "D’Ángelo–Łukasz Ærø Straße", birthDate: CalendarDate("1972-02-29")!, sex: .female,
            address: Sample.subscriber.address)
        let parsed = try write([Sample.claim(relationship: "01", patient: patient)])
        #expect(parsed.first("NM1", "QC") == ["NM1", "QC", "1", "D'ANGELO-LUKASZ AERO STRASSE", "ZOE"])
        #expect(parsed.text.unicodeScalars.allSatisfy { $0.isASCII })
        // Only the basic character set (upper case, digits, a few specials) and the separators.
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!\"&'()+,-./;?= *:^~")
        #expect(parsed.text.allSatisfy { allowed.contains($0) })
    }

    @Test("text is cut to each element's maximum length")
    func maximumLengths() throws {
        let long = String(repeating: "A", count: 100)
        let patient = Person(
            firstName: long, lastName: long, birthDate: CalendarDate("1972-02-29")!, sex: .female,
            address: PostalAddress(line1: long, city: long, state: "IL", postalCode: "62701"))
        let parsed = try write([Sample.claim(relationship: "01", patient: patient)])
        let nm1 = try #require(parsed.first("NM1", "QC"))
        #expect(nm1[3].count == 60 && nm1[4].count == 35)
        #expect(parsed.all("N3").last?[1].count == 55)
        #expect(parsed.all("N4").last?[1].count == 30)
    }
}

@Suite("837P writer: impossible input")
struct X12ErrorTests {
    static let id = UUID(uuidString: "11111111-2222-4333-8444-555555555555")!

    @Test("a claim without diagnoses")
    func noDiagnoses() {
        #expect(throws: X12Error.noDiagnoses(claimID: Self.id)) {
            try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim(id: Self.id, diagnoses: [])])
        }
    }

    @Test("more than twelve diagnoses")
    func thirteenDiagnoses() {
        let codes = ["E119", "I10", "E785", "Z7984", "M545", "R5383", "J301", "K219", "F419", "G4700", "E669", "Z6830", "R51"]
        #expect(throws: X12Error.tooManyDiagnoses(claimID: Self.id, count: 13)) {
            try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim(id: Self.id, diagnoses: codes)])
        }
    }

    @Test("a claim without lines")
    func noLines() {
        #expect(throws: X12Error.noServiceLines(claimID: Self.id)) {
            try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim(id: Self.id, lines: [])])
        }
    }

    @Test("more than fifty lines")
    func fiftyOneLines() {
        let lines = Array(repeating: Sample.officeVisit, count: 51)
        #expect(throws: X12Error.tooManyServiceLines(claimID: Self.id, count: 51)) {
            try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim(id: Self.id, lines: lines)])
        }
    }

    @Test("fifty lines are allowed")
    func fiftyLines() throws {
        let lines = Array(repeating: Sample.officeVisit, count: 50)
        #expect(try write([Sample.claim(lines: lines)]).all("LX").count == 50)
    }

    @Test("a pointer beyond the diagnoses")
    func pointerOutOfRange() {
        let line = ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1, 3])
        #expect(throws: X12Error.pointerOutOfRange(claimID: Self.id, line: 1, pointer: 3, diagnosisCount: 2)) {
            try X12Writer.interchange(
                Sample.envelope(), claims: [Sample.claim(id: Self.id, lines: [line], diagnoses: ["E119", "I10"])])
        }
    }

    @Test("no pointers, five pointers, or a repeated pointer", arguments: [[], [1, 2, 3, 4, 5], [1, 1]])
    func invalidPointers(pointers: [Int]) {
        let line = ServiceLine(code: "99213", units: 1, charge: 125, pointers: pointers)
        let codes = ["E119", "I10", "E785", "Z7984", "M545"]
        #expect(throws: X12Error.invalidPointers(claimID: Self.id, line: 1, pointers: pointers)) {
            try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim(id: Self.id, lines: [line], diagnoses: codes)])
        }
    }

    @Test("five modifiers")
    func fiveModifiers() {
        let line = ServiceLine(code: "20610", modifiers: ["RT", "59", "XS", "GA", "25"], units: 1, charge: 180, pointers: [1])
        #expect(throws: X12Error.tooManyModifiers(claimID: Self.id, line: 1, count: 5)) {
            try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim(id: Self.id, lines: [line])])
        }
    }

    @Test("a replacement or void without the payer's claim control number", arguments: ["7", "8"])
    func missingPayerClaimControlNumber(frequency: String) {
        for number in [nil, "", "  "] as [String?] {
            #expect(throws: X12Error.missingPayerClaimControlNumber(claimID: Self.id, frequencyCode: frequency)) {
                try X12Writer.interchange(
                    Sample.envelope(),
                    claims: [Sample.claim(id: Self.id, frequencyCode: frequency, payerClaimControlNumber: number)])
            }
        }
    }

    @Test("an unknown frequency code")
    func unknownFrequency() {
        #expect(throws: X12Error.invalidFrequencyCode(claimID: Self.id, code: "9")) {
            try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim(id: Self.id, frequencyCode: "9")])
        }
    }

    @Test("an unknown relationship code")
    func unknownRelationship() {
        #expect(throws: X12Error.invalidRelationship(claimID: Self.id, code: "99")) {
            try X12Writer.interchange(
                Sample.envelope(), claims: [Sample.claim(id: Self.id, relationship: "99", patient: Sample.child)])
        }
    }

    @Test("a total that is not the sum of the lines")
    func totalMismatch() {
        var claim = Sample.claim(id: Self.id)
        claim.totalCharge = 100
        #expect(throws: X12Error.totalChargeMismatch(claimID: Self.id, total: 100, sumOfLines: 125)) {
            try X12Writer.interchange(Sample.envelope(), claims: [claim])
        }
    }

    @Test("fractions of a cent")
    func subCent() {
        let charge = Decimal(string: "10.005")!
        let line = ServiceLine(code: "99213", units: 1, charge: charge, pointers: [1])
        #expect(throws: X12Error.invalidAmount(claimID: Self.id, field: "line 1 SV102 charge", value: charge)) {
            try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim(id: Self.id, lines: [line])])
        }
    }

    @Test("a name made only of separators is refused, not written empty")
    func emptyName() {
        let nobody = Person(
            firstName: "A", lastName: "*~:^", birthDate: CalendarDate("1970-01-01")!, sex: .unknown,
            address: Sample.subscriber.address)
        #expect(throws: X12Error.invalidValue(claimID: Self.id, field: "subscriber last name", reason: "is empty once cleaned for X12")) {
            try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim(id: Self.id, subscriber: nobody, patient: nobody)])
        }
    }

    @Test("no claims")
    func noClaims() {
        #expect(throws: X12Error.noClaims) {
            try X12Writer.interchange(Sample.envelope(), claims: [])
        }
    }

    @Test("interchange control numbers out of range", arguments: [0, -1, 1_000_000_000])
    func interchangeControlNumber(value: Int) {
        #expect(throws: X12Error.controlNumberOutOfRange(field: "ISA13", value: value)) {
            try X12Writer.interchange(Sample.envelope(interchange: value), claims: [Sample.claim()])
        }
    }

    @Test("group control numbers out of range", arguments: [0, 1_000_000_000])
    func groupControlNumber(value: Int) {
        #expect(throws: X12Error.controlNumberOutOfRange(field: "GS06", value: value)) {
            try X12Writer.interchange(Sample.envelope(group: value), claims: [Sample.claim()])
        }
    }

    @Test("the largest control numbers fit")
    func largestControlNumbers() throws {
        let parsed = try write([Sample.claim()], envelope: Sample.envelope(interchange: 999_999_999, group: 999_999_999))
        #expect(parsed.first("ISA")?[13] == "999999999")
        #expect(parsed.first("GE")?[2] == "999999999")
    }

    @Test(
        "error text names the claim and none of the patient's details",
        arguments: [
            (
                PostalAddress(line1: "12 Elm St", city: "Springfield", state: "Illinois", postalCode: "62704"),
                X12Error.invalidValue(claimID: X12ErrorTests.id, field: "patient N402 state", reason: "must be 2 letters")
            ),
            (
                PostalAddress(line1: "12 Elm St", city: "Springfield", state: "IL", postalCode: "6270"),
                X12Error.invalidValue(claimID: X12ErrorTests.id, field: "patient N403 ZIP code", reason: "must be 5 or 9 digits")
            ),
        ])
    func descriptions(address: PostalAddress, expected: X12Error) throws {
        let patient = Person(
            firstName: "Lena", lastName: "Müller", birthDate: CalendarDate("2015-09-30")!, sex: .female, address: address)
        let thrown = #expect(throws: expected) {
            try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim(id: Self.id, relationship: "19", patient: patient)])
        }
        let error = try #require(thrown)
        #expect(error.description.contains(Self.id.uuidString))
        // The patient's and subscriber's names, birth dates, member id and address.
        let details = [
            "Lena", "LENA", "Müller", "MULLER", "2015", "Sean", "SEAN", "O'Brien", "O'BRIEN", "1980", "W123456789",
            "Elm", "ELM", "Springfield", "SPRINGFIELD", "Illinois", "6270",
        ]
        for detail in details {
            #expect(!error.description.contains(detail), "\(error.description) shows \(detail)")
        }
    }

    static func practice(line1: String = "100 Main St", line2: String? = nil, zip: String = "627011234") -> Practice {
        var practice = Sample.practice
        practice.address = PostalAddress(line1: line1, line2: line2, city: "Springfield", state: "IL", postalCode: zip)
        return practice
    }

    @Test("the billing provider's ZIP code must be ZIP+4", arguments: ["62701", "62701-12", "6270112345", "62701-ABCD"])
    func billingProviderZIP(zip: String) throws {
        let error = #expect(
            throws: X12Error.invalidValue(claimID: Self.id, field: "2010AA N403 ZIP code", reason: "must be 9 digits (ZIP+4)")
        ) {
            try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim(id: Self.id, billingProvider: Self.practice(zip: zip))])
        }
        #expect(try #require(error).description.contains("2010AA N403 ZIP code"))
    }

    @Test(
        "the billing provider's address may not be a PO box, however it is spelled",
        arguments: [
            "PO Box 123", "P.O. Box 123", "p o box 123", "POST OFFICE BOX 9", "Post Office Bx 9", "PO BX 77", "POBox 5",
            "P.O.BOX 12", "Lock Box 4410", "LOCKBOX 4410", "Dept 12, P. O. Box 88",
        ])
    func billingProviderPOBox(line: String) {
        #expect(
            throws: X12Error.invalidValue(claimID: Self.id, field: "2010AA N301 address", reason: "must be a street address, not a PO box")
        ) {
            try X12Writer.interchange(Sample.envelope(), claims: [Sample.claim(id: Self.id, billingProvider: Self.practice(line1: line))])
        }
        #expect(
            throws: X12Error.invalidValue(claimID: Self.id, field: "2010AA N302 address", reason: "must be a street address, not a PO box")
        ) {
            try X12Writer.interchange(
                Sample.envelope(), claims: [Sample.claim(id: Self.id, billingProvider: Self.practice(line2: line))])
        }
    }

    @Test(
        "street addresses that merely look like boxes are written",
        arguments: ["12 Boxwood Lane", "1 Post Office Square", "300 Depot Box Road", "9 Lockhart Blvd", "44 Apollo Box Court"])
    func streetsAreNotBoxes(line: String) throws {
        let parsed = try write([Sample.claim(billingProvider: Self.practice(line1: line))])
        #expect(parsed.first("N3")?[1] == line.uppercased())
    }

    @Test("other loops keep taking 5-digit ZIP codes and PO boxes")
    func otherLoopsTakeFiveDigits() throws {
        let subscriber = Person(
            firstName: "Sean", lastName: "O'Brien", birthDate: CalendarDate("1980-04-02")!, sex: .male,
            address: PostalAddress(line1: "PO Box 12", city: "Springfield", state: "IL", postalCode: "62704"))
        let parsed = try write([Sample.claim(subscriber: subscriber, patient: subscriber)])
        #expect(parsed.all("N4").map { $0[3] } == ["627011234", "62704"])
        #expect(parsed.all("N3").last?[1] == "PO BOX 12")
    }

    @Test("a replacement's error names the claim and REF*F8")
    func replacementDescription() {
        let error = X12Error.missingPayerClaimControlNumber(claimID: Self.id, frequencyCode: "7")
        #expect(error.description.contains(Self.id.uuidString))
        #expect(error.description.contains("REF*F8"))
    }
}
