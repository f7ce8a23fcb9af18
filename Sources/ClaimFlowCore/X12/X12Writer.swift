public import Foundation

/// Why a batch of claims cannot become an 837P interchange. Each case names the claim (never
/// its patient's names, member id or birth date, so the text is safe to log) and what to fix.
public enum X12Error: Error, Sendable, Hashable, CustomStringConvertible {
    case noClaims
    /// More transaction sets than GE01 (six digits) can count.
    case tooManyClaims(count: Int)
    /// ISA13 and GS06 must be 1 to 999999999.
    case controlNumberOutOfRange(field: String, value: Int)
    case invalidEnvelope(field: String, reason: String)
    case noDiagnoses(claimID: UUID)
    /// HI carries at most 12 diagnoses.
    case tooManyDiagnoses(claimID: UUID, count: Int)
    case invalidDiagnosis(claimID: UUID, code: String)
    case duplicateDiagnosis(claimID: UUID, code: String)
    case noServiceLines(claimID: UUID)
    /// Loop 2400 repeats at most 50 times.
    case tooManyServiceLines(claimID: UUID, count: Int)
    /// `line` is 1-based, as LX01 numbers it.
    case invalidProcedureCode(claimID: UUID, line: Int, code: String)
    case tooManyModifiers(claimID: UUID, line: Int, count: Int)
    case invalidModifier(claimID: UUID, line: Int, modifier: String)
    /// A line needs 1 to 4 distinct diagnosis pointers.
    case invalidPointers(claimID: UUID, line: Int, pointers: [Int])
    case pointerOutOfRange(claimID: UUID, line: Int, pointer: Int, diagnosisCount: Int)
    /// Negative or sub-cent money, units that are not positive, or more digits than X12 allows.
    case invalidAmount(claimID: UUID, field: String, value: Decimal)
    case totalChargeMismatch(claimID: UUID, total: Decimal, sumOfLines: Decimal)
    case invalidFrequencyCode(claimID: UUID, code: String)
    /// A replacement (7) or void (8) must say which of the payer's claims it replaces.
    case missingPayerClaimControlNumber(claimID: UUID, frequencyCode: String)
    case invalidRelationship(claimID: UUID, code: String)
    /// The implementation guide requires the patient's (and billing provider's) address.
    case missingAddress(claimID: UUID, party: String)
    /// A required value is missing, too short, or malformed; `reason` never repeats the value.
    case invalidValue(claimID: UUID, field: String, reason: String)

    public var description: String {
        switch self {
        case .noClaims:
            "an interchange needs at least one claim"
        case .tooManyClaims(let count):
            "\(count) claims do not fit one functional group (at most 999999)"
        case .controlNumberOutOfRange(let field, let value):
            "\(field) \(value) is out of range: it must be 1 to 999999999"
        case .invalidEnvelope(let field, let reason):
            "envelope \(field): \(reason)"
        case .noDiagnoses(let claimID):
            "claim \(claimID): no diagnosis; an 837P needs a principal diagnosis"
        case .tooManyDiagnoses(let claimID, let count):
            "claim \(claimID): \(count) diagnoses; an 837P carries at most 12"
        case .invalidDiagnosis(let claimID, let code):
            "claim \(claimID): \(code) is not an ICD-10-CM code"
        case .duplicateDiagnosis(let claimID, let code):
            "claim \(claimID): diagnosis \(code) is listed twice"
        case .noServiceLines(let claimID):
            "claim \(claimID): no service line"
        case .tooManyServiceLines(let claimID, let count):
            "claim \(claimID): \(count) service lines; an 837P carries at most 50 (split the claim)"
        case .invalidProcedureCode(let claimID, let line, let code):
            "claim \(claimID) line \(line): \(code) is not a CPT or HCPCS code"
        case .tooManyModifiers(let claimID, let line, let count):
            "claim \(claimID) line \(line): \(count) modifiers; at most 4"
        case .invalidModifier(let claimID, let line, let modifier):
            "claim \(claimID) line \(line): modifier \(modifier) is not two letters or digits"
        case .invalidPointers(let claimID, let line, let pointers):
            "claim \(claimID) line \(line): diagnosis pointers \(pointers) must be 1 to 4 distinct positions"
        case .pointerOutOfRange(let claimID, let line, let pointer, let diagnosisCount):
            "claim \(claimID) line \(line): pointer \(pointer) points past the \(diagnosisCount) diagnoses"
        case .invalidAmount(let claimID, let field, let value):
            "claim \(claimID): \(field) \(value) is not a valid amount"
        case .totalChargeMismatch(let claimID, let total, let sumOfLines):
            "claim \(claimID): total charge \(total) differs from the sum of the lines \(sumOfLines)"
        case .invalidFrequencyCode(let claimID, let code):
            "claim \(claimID): frequency code \(code) is not 1 (original), 7 (replacement) or 8 (void)"
        case .missingPayerClaimControlNumber(let claimID, let frequencyCode):
            "claim \(claimID): frequency \(frequencyCode) needs the payer's claim control number (REF*F8)"
        case .invalidRelationship(let claimID, let code):
            "claim \(claimID): \(code) is not a patient relationship code (\(PatientRelationship.codes.joined(separator: ", ")))"
        case .missingAddress(let claimID, let party):
            "claim \(claimID): the \(party) address is required"
        case .invalidValue(let claimID, let field, let reason):
            "claim \(claimID): \(field) \(reason)"
        }
    }
}

/// Writes X12 837P (005010X222A1) interchanges: a pure function from claims to text, so the
/// batcher can write the same claim version again, byte for byte, after a crash.
///
/// Each claim gets its own transaction set (ST/SE), so a receiver's 999 that rejects one set
/// rejects one claim, and each set's control number maps back to one claim.
///
/// X12 has no escape mechanism, so text is cleaned rather than escaped: letters are
/// transliterated to ASCII (Müller becomes MULLER), upper-cased, and anything outside the
/// X12 basic character set (separators `*` `:` `^` `~`, control characters, `#`, `@`, ...)
/// becomes a space. The output therefore uses only the basic character set, which every
/// receiver must accept. Text is cut to each element's maximum length.
public enum X12Writer {
    /// GS08 and ST03.
    public static let implementationConvention = "005010X222A1"

    /// SBR09's code list (claim filing indicator), as the payers table's CHECK copies it
    /// (sql/0006_payer_profiles.sql): `CI` commercial, `MB` Medicare Part B, `MC` Medicaid,
    /// `BL` Blue Cross/Blue Shield, `HM` HMO, `WC` workers' compensation, `ZZ` mutually defined, ...
    public static let claimFilingIndicators: [String] = [
        "11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS", "FI", "HM", "LM", "MA", "MB", "MC",
        "OF", "TV", "VA", "WC", "ZZ",
    ]

    /// The whole interchange, ISA to IEA, with one ST transaction set per claim in order.
    ///
    /// - Parameter newlineAfterSegments: adds a line feed after each `~`, which people reading
    ///   the file like and most receivers ignore; some receivers refuse it, so it is off by default.
    public static func interchange(
        _ envelope: X12Envelope, claims: [X12Claim], newlineAfterSegments: Bool = false
    ) throws -> String {
        guard !claims.isEmpty else { throw X12Error.noClaims }
        guard claims.count <= 999_999 else { throw X12Error.tooManyClaims(count: claims.count) }
        let header = try EnvelopeHeader(envelope)
        var segments: [String] = [header.isa, header.gs]
        for (index, claim) in claims.enumerated() {
            let controlNumber = pad(index + 1, width: 4)
            var set = TransactionSet(claimID: claim.claimID)
            try set.write(claim, header: header, controlNumber: controlNumber)
            segments += set.segments
        }
        segments.append(segment("GE", [String(claims.count), String(envelope.groupControlNumber)]))
        segments.append(segment("IEA", ["1", header.interchangeControlNumber]))
        let terminator = newlineAfterSegments ? "~\n" : "~"
        return segments.map { $0 + terminator }.joined()
    }
}

// MARK: - Envelope

/// The envelope's values, checked and formatted once for every transaction set.
private struct EnvelopeHeader {
    static let qualifiers: Set<String> = ["01", "14", "20", "27", "28", "29", "30", "33", "ZZ"]

    let isa: String
    let gs: String
    let interchangeControlNumber: String
    let date: String
    let time: String
    let submitterName: String
    let submitterID: String
    let contactName: String
    let contactPhone: String
    let receiverName: String
    let receiverID: String

    init(_ envelope: X12Envelope) throws {
        for (field, value) in [("ISA13", envelope.interchangeControlNumber), ("GS06", envelope.groupControlNumber)] {
            guard (1...999_999_999).contains(value) else {
                throw X12Error.controlNumberOutOfRange(field: field, value: value)
            }
        }
        func identifier(_ field: String, _ raw: String, max: Int) throws -> String {
            let value = X12Text.clean(raw)
            guard value.count >= 2 else { throw X12Error.invalidEnvelope(field: field, reason: "needs at least 2 characters") }
            guard value.count <= max else { throw X12Error.invalidEnvelope(field: field, reason: "has more than \(max) characters") }
            return value
        }
        func qualifier(_ field: String, _ raw: String) throws -> String {
            let value = raw.uppercased()
            guard Self.qualifiers.contains(value) else {
                throw X12Error.invalidEnvelope(field: field, reason: "\(raw) is not an interchange id qualifier")
            }
            return value
        }
        func name(_ field: String, _ raw: String) throws -> String {
            let value = X12Text.clean(raw, max: 60)
            guard !value.isEmpty else { throw X12Error.invalidEnvelope(field: field, reason: "is empty") }
            return value
        }
        let senderQualifier = try qualifier("ISA05", envelope.senderQualifier)
        let senderID = try identifier("ISA06", envelope.senderID, max: 15)
        let receiverQualifier = try qualifier("ISA07", envelope.receiverQualifier)
        let receiverID = try identifier("ISA08", envelope.receiverID, max: 15)
        let applicationSender = try identifier("GS02", envelope.applicationSenderCode ?? envelope.senderID, max: 15)
        let applicationReceiver = try identifier("GS03", envelope.applicationReceiverCode ?? envelope.receiverID, max: 15)
        submitterID = try identifier("1000A NM109", envelope.submitterID ?? envelope.senderID, max: 80)
        self.receiverID = try identifier("1000B NM109", envelope.receiverIdentifier ?? envelope.receiverID, max: 80)
        submitterName = try name("1000A NM103", envelope.submitterName)
        receiverName = try name("1000B NM103", envelope.receiverName)
        contactName = X12Text.clean(envelope.submitterContactName, max: 60)
        contactPhone = String(envelope.submitterContactPhone.filter(\.isASCIIDigit).prefix(256))
        guard !contactPhone.isEmpty else { throw X12Error.invalidEnvelope(field: "1000A PER04", reason: "has no digits") }

        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: envelope.createdAt)
        date = ccyymmdd(year: parts.year!, month: parts.month!, day: parts.day!)
        time = pad(parts.hour!, width: 2) + pad(parts.minute!, width: 2)
        interchangeControlNumber = pad(envelope.interchangeControlNumber, width: 9)

        func fixed(_ value: String, _ width: Int) -> String {
            value + String(repeating: " ", count: width - value.count)
        }
        // ISA is fixed width (106 characters with its terminator): receivers find the
        // separators by position, so no element may be trimmed.
        isa = [
            "ISA", "00", fixed("", 10), "00", fixed("", 10),
            senderQualifier, fixed(senderID, 15), receiverQualifier, fixed(receiverID, 15),
            String(date.dropFirst(2)), time, X12Text.repetitionSeparator, "00501", interchangeControlNumber,
            envelope.acknowledgmentRequested ? "1" : "0", envelope.usage.rawValue, X12Text.componentSeparator,
        ].joined(separator: X12Text.elementSeparator)
        gs = segment(
            "GS",
            [
                "HC", applicationSender, applicationReceiver, date, time, String(envelope.groupControlNumber), "X",
                X12Writer.implementationConvention,
            ])
    }
}

// MARK: - Claim

/// One ST...SE transaction set holding one claim.
private struct TransactionSet {
    /// The relationships that add the patient loop 2000C: every code but self.
    static let patientRelationships = Set(PatientRelationship.codes).subtracting([PatientRelationship.subscriberSelf])
    static let claimFilingIndicators = Set(X12Writer.claimFilingIndicators)

    let claimID: UUID
    private(set) var segments: [String] = []

    init(claimID: UUID) {
        self.claimID = claimID
    }

    mutating func write(_ claim: X12Claim, header: EnvelopeHeader, controlNumber: String) throws {
        // Check the whole claim before writing any of it, so errors come in a stable order:
        // coding problems first, as they send the claim back to a coder.
        let diagnoses = try checkedDiagnoses(claim.diagnoses)
        let lines = try checkedLines(claim.lines, diagnosisCount: diagnoses.count)
        let total = try money(claim.totalCharge, field: "CLM02 total charge")
        let sumOfLines = lines.reduce(Decimal(0)) { $0 + $1.charge }
        guard total == sumOfLines else {
            throw X12Error.totalChargeMismatch(claimID: claimID, total: claim.totalCharge, sumOfLines: sumOfLines)
        }
        guard ["1", "7", "8"].contains(claim.frequencyCode) else {
            throw X12Error.invalidFrequencyCode(claimID: claimID, code: claim.frequencyCode)
        }
        var payerClaimControlNumber: String?
        if claim.frequencyCode != "1" {
            payerClaimControlNumber = X12Text.clean(claim.payerClaimControlNumber ?? "", max: 50)
            guard payerClaimControlNumber?.isEmpty == false else {
                throw X12Error.missingPayerClaimControlNumber(claimID: claimID, frequencyCode: claim.frequencyCode)
            }
        }
        let relationship = Self.code(claim.relationship)
        let patientIsSubscriber = relationship == PatientRelationship.subscriberSelf
        guard patientIsSubscriber || Self.patientRelationships.contains(relationship) else {
            throw X12Error.invalidRelationship(claimID: claimID, code: claim.relationship)
        }
        let placeOfService = claim.placeOfService.trimmingCharacters(in: .whitespaces)
        guard placeOfService.count == 2, placeOfService.allSatisfy(\.isASCIIDigit) else {
            throw X12Error.invalidValue(claimID: claimID, field: "CLM05-1 place of service", reason: "must be 2 digits")
        }
        let filingIndicator = claim.claimFilingIndicator.uppercased()
        guard Self.claimFilingIndicators.contains(filingIndicator) else {
            throw X12Error.invalidValue(claimID: claimID, field: "SBR09 claim filing indicator", reason: "is not a known code")
        }
        let patientControlNumber = try required(claim.patientControlNumber, max: 38, field: "CLM01 patient control number")
        guard patientControlNumber == claim.patientControlNumber else {
            // Cleaning would make the payer echo back a number ClaimFlow cannot match.
            throw X12Error.invalidValue(
                claimID: claimID, field: "CLM01 patient control number",
                reason: "must be 1 to 38 upper-case characters of the X12 basic character set")
        }

        let practice = claim.billingProvider
        let billingNPI = try npi(practice.npi, field: "2010AA NM109 billing provider NPI")
        let taxID = practice.taxID.filter(\.isASCIIDigit)
        guard taxID.count == 9 else {
            throw X12Error.invalidValue(claimID: claimID, field: "2010AA REF02 tax id", reason: "must have 9 digits")
        }
        // The guide wants a street address with ZIP+4 for the billing provider; other loops
        // take 5-digit ZIP codes and boxes.
        if let finding = practice.address.billingProviderFindings.first {
            let field =
                switch finding.field {
                case .line1: "2010AA N301 address"
                case .line2: "2010AA N302 address"
                case .postalCode: "2010AA N403 ZIP code"
                }
            let reason = finding.field == .postalCode ? "must be 9 digits (ZIP+4)" : finding.message
            throw X12Error.invalidValue(claimID: claimID, field: field, reason: reason)
        }
        let details = try checkedDetails(claim.details)
        let patient = patientIsSubscriber ? claim.subscriber : claim.patient
        guard patient.address != nil else {
            throw X12Error.missingAddress(claimID: claimID, party: patientIsSubscriber ? "subscriber (patient)" : "patient")
        }

        add("ST", ["837", controlNumber, X12Writer.implementationConvention])
        add("BHT", ["0019", "00", header.interchangeControlNumber + controlNumber, header.date, header.time, "CH"])

        // 1000A submitter, 1000B receiver.
        add("NM1", ["41", "2", header.submitterName, "", "", "", "", "46", header.submitterID])
        add("PER", ["IC", header.contactName, "TE", header.contactPhone])
        add("NM1", ["40", "2", header.receiverName, "", "", "", "", "46", header.receiverID])

        // 2000A billing provider.
        add("HL", ["1", "", "20", "1"])
        let taxonomy = X12Text.clean(practice.taxonomy, max: 50)
        if !taxonomy.isEmpty {
            add("PRV", ["BI", "PXC", taxonomy])
        }
        if let person = practice.individual {
            // A person billing under their own NPI: NM102 1, last and first name.
            let last = try required(person.lastName, max: 60, field: "2010AA NM103 billing provider last name")
            add("NM1", ["85", "1", last, X12Text.clean(person.firstName, max: 35), "", "", "", "XX", billingNPI])
        } else {
            let practiceName = try required(practice.name, max: 60, field: "2010AA NM103 billing provider name")
            add("NM1", ["85", "2", practiceName, "", "", "", "", "XX", billingNPI])
        }
        try address(practice.address, party: "billing provider")
        add("REF", ["EI", taxID])

        // 2000B subscriber; SBR02 only ever says 18 (self): other relationships go in PAT01.
        add("HL", ["2", "1", "22", patientIsSubscriber ? "0" : "1"])
        add(
            "SBR",
            ["P", patientIsSubscriber ? "18" : "", X12Text.clean(claim.groupNumber ?? "", max: 50), "", "", "", "", "", filingIndicator])
        let memberID = try required(claim.memberID, max: 80, min: 2, field: "2010BA NM109 member id")
        try person(claim.subscriber, entity: "IL", party: "subscriber", memberID: memberID)
        if let subscriberAddress = claim.subscriber.address {
            try address(subscriberAddress, party: "subscriber")
        }
        // The guide sends the subscriber's DMG only when the subscriber is the patient.
        if patientIsSubscriber {
            demographics(claim.subscriber)
        }
        let payerName = try required(claim.payer.name, max: 60, field: "2010BB NM103 payer name")
        let payerCode = try required(claim.payer.payerCode, max: 80, min: 2, field: "2010BB NM109 payer id")
        add("NM1", ["PR", "2", payerName, "", "", "", "", "PI", payerCode])

        // 2000C patient, only when the patient is not the subscriber.
        if !patientIsSubscriber {
            add("HL", ["3", "2", "23", "0"])
            add("PAT", [relationship])
            try person(claim.patient, entity: "QC", party: "patient", memberID: nil)
            try address(claim.patient.address!, party: "patient")
            demographics(claim.patient)
        }

        // 2300 claim. CLM11, the related causes, only when there are any (CLM10 stays empty).
        var clm = [
            patientControlNumber, Self.text(total), "", "", composite([placeOfService, "B", claim.frequencyCode]), "Y", "A", "Y", "Y",
        ]
        if !details.relatedCauses.isEmpty {
            var causes = details.relatedCauses
            if causes.count == 1 { causes.append("") }
            if let state = details.accidentState { causes += ["", state] }
            clm += ["", composite(causes)]
        }
        add("CLM", clm)
        // The dates and references in the guide's order: DTP 431, 454, 304, 439; REF 9F, G1, F8.
        for (qualifier, date) in [
            ("431", details.onsetDate), ("454", details.initialTreatmentDate), ("304", details.lastSeenDate),
            ("439", details.accidentDate),
        ] {
            if let date { add("DTP", [qualifier, "D8", Self.text(date)]) }
        }
        if let referral = details.referralNumber { add("REF", ["9F", referral]) }
        if let authorization = details.priorAuthorization { add("REF", ["G1", authorization]) }
        if let payerClaimControlNumber {
            add("REF", ["F8", payerClaimControlNumber])
        }
        add(
            "HI",
            diagnoses.enumerated().map { index, code in composite([index == 0 ? "ABK" : "ABF", code]) })

        // 2310A referring provider.
        if let referring = details.referringProvider {
            add("NM1", ["DN", "1", referring.lastName, referring.firstName, "", "", "", "XX", referring.npi])
        }

        // 2310B rendering provider, unless it is the billing provider itself.
        if let rendering = claim.renderingProvider {
            let renderingNPI = try npi(rendering.npi, field: "2310B NM109 rendering provider NPI")
            if renderingNPI != billingNPI {
                let last = try required(rendering.lastName, max: 60, field: "2310B NM103 rendering provider last name")
                let first = X12Text.clean(rendering.firstName, max: 35)
                add("NM1", ["82", "1", last, first, "", "", "", "XX", renderingNPI])
                let renderingTaxonomy = X12Text.clean(rendering.taxonomy ?? "", max: 50)
                if !renderingTaxonomy.isEmpty {
                    add("PRV", ["PE", "PXC", renderingTaxonomy])
                }
            }
        }

        // 2310C service facility location.
        if let facility = details.serviceFacility {
            if let facilityNPI = facility.npi {
                add("NM1", ["77", "2", facility.name, "", "", "", "", "XX", facilityNPI])
            } else {
                add("NM1", ["77", "2", facility.name])
            }
            try address(facility.address, party: "2310C service facility")
        }

        // 2400 service lines.
        let serviceDate = Self.text(claim.dateOfService)
        for (index, line) in lines.enumerated() {
            add("LX", [String(index + 1)])
            // Anesthesia is billed in minutes (MJ), everything else in units (UN).
            let (measure, quantity) = line.anesthesiaMinutes.map { ("MJ", String($0)) } ?? ("UN", Self.text(line.units))
            add(
                "SV1",
                [
                    composite(["HC", line.code] + line.modifiers), Self.text(line.charge), measure, quantity, "",
                    "", composite(line.pointers.map(String.init)),
                ])
            add("DTP", ["472", "D8", serviceDate])
            // After the line's DTPs, QTY, MEA and CN1 and REF*9B/9D/G1, as the guide orders 2400.
            add("REF", ["6R", X12Claim.lineItemControlNumber(patientControlNumber: patientControlNumber, line: index + 1)])
            // 2410 drug identification: the NDC and the quantity given.
            if let drug = line.drug {
                add("LIN", ["", "N4", drug.ndc])
                add("CTP", ["", "", "", Self.text(drug.quantity), drug.unit])
            }
        }

        add("SE", [String(segments.count + 1), controlNumber])
    }

    // MARK: Segments

    private mutating func add(_ id: String, _ elements: [String]) {
        segments.append(segment(id, elements))
    }

    private mutating func person(_ person: Person, entity: String, party: String, memberID: String?) throws {
        let last = try required(person.lastName, max: 60, field: "\(party) last name")
        let first = X12Text.clean(person.firstName, max: 35)
        if let memberID {
            add("NM1", [entity, "1", last, first, "", "", "", "MI", memberID])
        } else {
            add("NM1", [entity, "1", last, first])
        }
    }

    private mutating func address(_ address: PostalAddress, party: String) throws {
        let line1 = try required(address.line1, max: 55, field: "\(party) N301 address line")
        add("N3", [line1, X12Text.clean(address.line2 ?? "", max: 55)])
        let city = try required(address.city, max: 30, min: 2, field: "\(party) N401 city")
        let state = X12Text.clean(address.state)
        guard state.count == 2, state.allSatisfy({ $0.isLetter }) else {
            throw X12Error.invalidValue(claimID: claimID, field: "\(party) N402 state", reason: "must be 2 letters")
        }
        let zip = address.postalCode.filter { $0 != "-" && $0 != " " }
        guard zip.count == 5 || zip.count == 9, zip.allSatisfy(\.isASCIIDigit) else {
            throw X12Error.invalidValue(claimID: claimID, field: "\(party) N403 ZIP code", reason: "must be 5 or 9 digits")
        }
        add("N4", [city, state, zip])
    }

    private mutating func demographics(_ person: Person) {
        add("DMG", ["D8", Self.text(person.birthDate), person.sex.rawValue])
    }

    // MARK: Checks

    private func checkedDiagnoses(_ raw: [String]) throws -> [String] {
        guard !raw.isEmpty else { throw X12Error.noDiagnoses(claimID: claimID) }
        guard raw.count <= 12 else { throw X12Error.tooManyDiagnoses(claimID: claimID, count: raw.count) }
        var seen: Set<String> = []
        return try raw.map { text in
            guard let code = CodeFormat.normalizedDiagnosis(text.trimmingCharacters(in: .whitespaces)) else {
                throw X12Error.invalidDiagnosis(claimID: claimID, code: text)
            }
            guard seen.insert(code).inserted else { throw X12Error.duplicateDiagnosis(claimID: claimID, code: code) }
            return code
        }
    }

    private func checkedLines(_ raw: [ServiceLine], diagnosisCount: Int) throws -> [ServiceLine] {
        guard !raw.isEmpty else { throw X12Error.noServiceLines(claimID: claimID) }
        guard raw.count <= 50 else { throw X12Error.tooManyServiceLines(claimID: claimID, count: raw.count) }
        return try raw.enumerated().map { index, line in
            let number = index + 1
            let code = Self.code(line.code)
            guard CodeFormat.isProcedure(code) else {
                throw X12Error.invalidProcedureCode(claimID: claimID, line: number, code: line.code)
            }
            guard line.modifiers.count <= 4 else {
                throw X12Error.tooManyModifiers(claimID: claimID, line: number, count: line.modifiers.count)
            }
            let modifiers = try line.modifiers.map { raw in
                let modifier = Self.code(raw)
                guard CodeFormat.isModifier(modifier) else {
                    throw X12Error.invalidModifier(claimID: claimID, line: number, modifier: raw)
                }
                return modifier
            }
            guard (1...4).contains(line.pointers.count), Set(line.pointers).count == line.pointers.count else {
                throw X12Error.invalidPointers(claimID: claimID, line: number, pointers: line.pointers)
            }
            for pointer in line.pointers where !(1...diagnosisCount).contains(pointer) {
                throw X12Error.pointerOutOfRange(
                    claimID: claimID, line: number, pointer: pointer, diagnosisCount: diagnosisCount)
            }
            let charge = try money(line.charge, field: "line \(number) SV102 charge")
            guard line.units > 0, Self.rounded(line.units, scale: 3) == line.units, Self.digitCount(line.units) <= 15
            else {
                throw X12Error.invalidAmount(claimID: claimID, field: "line \(number) SV104 units", value: line.units)
            }
            if let minutes = line.anesthesiaMinutes, !(1...99_999).contains(minutes) {
                throw X12Error.invalidValue(
                    claimID: claimID, field: "line \(number) SV104 anesthesia minutes", reason: "must be 1 to 99999")
            }
            var drug = line.drug
            if let given = line.drug {
                let ndc = given.ndc.filter { $0 != "-" }
                guard ndc.count == 11, ndc.allSatisfy(\.isASCIIDigit) else {
                    throw X12Error.invalidValue(claimID: claimID, field: "line \(number) LIN03 NDC", reason: "must be 11 digits (5-4-2)")
                }
                let unit = Self.code(given.unit)
                guard DrugIdentification.units.contains(unit) else {
                    throw X12Error.invalidValue(
                        claimID: claimID, field: "line \(number) CTP05 unit", reason: "must be F2, GR, ME, ML or UN")
                }
                guard given.quantity > 0, Self.rounded(given.quantity, scale: 3) == given.quantity, Self.digitCount(given.quantity) <= 15
                else {
                    throw X12Error.invalidAmount(claimID: claimID, field: "line \(number) CTP04 drug quantity", value: given.quantity)
                }
                drug = DrugIdentification(ndc: ndc, unit: unit, quantity: given.quantity)
            }
            return ServiceLine(
                code: code, modifiers: modifiers, units: line.units, charge: charge, pointers: line.pointers,
                anesthesiaMinutes: line.anesthesiaMinutes, drug: drug)
        }
    }

    /// The claim's details as they will be written: text cleaned, codes and NPIs checked, and
    /// what the guide requires together (an accident's date; an auto accident's state).
    private func checkedDetails(_ raw: X12Claim.Details) throws -> X12Claim.Details {
        var details = raw
        details.relatedCauses = raw.relatedCauses.map(Self.code)
        guard details.relatedCauses.count <= 2, details.relatedCauses.allSatisfy({ ["AA", "EM", "OA"].contains($0) }),
            Set(details.relatedCauses).count == details.relatedCauses.count
        else {
            throw X12Error.invalidValue(claimID: claimID, field: "CLM11 related causes", reason: "must be up to two of AA, EM and OA")
        }
        let accident = details.relatedCauses.contains("AA") || details.relatedCauses.contains("OA")
        if accident && details.accidentDate == nil {
            throw X12Error.invalidValue(
                claimID: claimID, field: "2300 DTP*439 accident date", reason: "is required with an accident (AA or OA)")
        }
        if details.relatedCauses.contains("AA") {
            let state = Self.code(raw.accidentState ?? "")
            guard state.count == 2, state.allSatisfy(\.isLetter) else {
                throw X12Error.invalidValue(
                    claimID: claimID, field: "CLM11-4 accident state", reason: "is required with an auto accident, 2 letters")
            }
            details.accidentState = state
        } else {
            details.accidentState = nil
        }
        func reference(_ value: String?, _ field: String) throws -> String? {
            guard let value else { return nil }
            let cleaned = X12Text.clean(value, max: 50)
            guard !cleaned.isEmpty else { throw X12Error.invalidValue(claimID: claimID, field: field, reason: "is empty") }
            return cleaned
        }
        details.priorAuthorization = try reference(raw.priorAuthorization, "2300 REF*G1 prior authorization")
        details.referralNumber = try reference(raw.referralNumber, "2300 REF*9F referral number")
        if let referring = raw.referringProvider {
            details.referringProvider = X12Claim.Clinician(
                npi: try npi(referring.npi, field: "2310A NM109 referring provider NPI"),
                firstName: X12Text.clean(referring.firstName, max: 35),
                lastName: try required(referring.lastName, max: 60, field: "2310A NM103 referring provider last name"))
        }
        if let facility = raw.serviceFacility {
            details.serviceFacility = X12Claim.ServiceFacility(
                name: try required(facility.name, max: 60, field: "2310C NM103 service facility name"),
                npi: try facility.npi.map { try npi($0, field: "2310C NM109 service facility NPI") }, address: facility.address)
        }
        return details
    }

    /// Money must be whole cents, not negative, and fit an R element of 18 digits.
    private func money(_ value: Decimal, field: String) throws -> Decimal {
        guard value >= 0, Self.rounded(value, scale: 2) == value, Self.digitCount(value) <= 18 else {
            throw X12Error.invalidAmount(claimID: claimID, field: field, value: value)
        }
        return value
    }

    private func npi(_ raw: String, field: String) throws -> String {
        guard let npi = NPI(raw.trimmingCharacters(in: .whitespaces)) else {
            throw X12Error.invalidValue(claimID: claimID, field: field, reason: "is not a valid NPI")
        }
        return npi.digits
    }

    /// A cleaned text value that the guide requires: empty after cleaning (a name made only
    /// of separators, say) is an error rather than a file the receiver rejects.
    private func required(_ raw: String, max: Int, min: Int = 1, field: String) throws -> String {
        let value = X12Text.clean(raw, max: max)
        guard value.count >= min else {
            throw X12Error.invalidValue(
                claimID: claimID, field: field,
                reason: min == 1 ? "is empty once cleaned for X12" : "needs at least \(min) characters once cleaned for X12")
        }
        return value
    }

    // MARK: Formats

    private static func rounded(_ value: Decimal, scale: Int) -> Decimal {
        var input = value
        var result = Decimal()
        NSDecimalRound(&result, &input, scale, .plain)
        return result
    }

    private static func digitCount(_ value: Decimal) -> Int {
        text(value).filter(\.isNumber).count
    }

    /// X12's R type: no exponent and no trailing zeros (125, 125.5, 125.25).
    private static func text(_ value: Decimal) -> String {
        value.description
    }

    private static func text(_ date: CalendarDate) -> String {
        ccyymmdd(year: date.year, month: date.month, day: date.day)
    }

    /// Codes (procedure, modifier, relationship) as their code lists spell them: upper case,
    /// without the spaces people type around them.
    private static func code(_ raw: String) -> String {
        raw.trimmingCharacters(in: .whitespaces).uppercased()
    }
}

// MARK: - Text

/// Cleaning of free text for X12, which has no escape mechanism.
enum X12Text {
    static let elementSeparator = "*"
    static let componentSeparator = ":"
    static let repetitionSeparator = "^"

    /// Letters without a canonical decomposition into ASCII plus marks, and typographic
    /// punctuation people paste into names (O’Brien).
    private static let substitutes: [Unicode.Scalar: String] = [
        "Æ": "AE", "æ": "AE", "Ø": "O", "ø": "O", "ß": "SS", "ẞ": "SS", "Œ": "OE", "œ": "OE", "Ł": "L", "ł": "L",
        "Đ": "D", "đ": "D", "Ð": "D", "ð": "D", "Þ": "TH", "þ": "TH", "ı": "I", "Ħ": "H", "ħ": "H",
        "\u{2018}": "'", "\u{2019}": "'", "\u{02BC}": "'", "\u{201C}": "\"", "\u{201D}": "\"",
        "\u{2010}": "-", "\u{2011}": "-", "\u{2013}": "-", "\u{2014}": "-",
    ]

    /// The X12 basic character set's special characters, less `*` and `:`, which are our
    /// separators (`~` and `^` are not in the basic set at all).
    private static let basicSpecials: Set<UInt8> = Set("!\"&'()+,-./;?= ".utf8)

    /// Transliterates to ASCII, upper-cases, turns every character outside the basic
    /// character set into a space, collapses runs of spaces, and cuts to `max` characters.
    static func clean(_ text: String, max: Int = .max) -> String {
        var bytes: [UInt8] = []
        func append(_ byte: UInt8) {
            let byte = (97...122).contains(byte) ? byte - 32 : byte
            let isBasic = (65...90).contains(byte) || (48...57).contains(byte) || basicSpecials.contains(byte)
            let kept = isBasic ? byte : 32
            if kept == 32, bytes.isEmpty || bytes.last == 32 { return }
            bytes.append(kept)
        }
        for scalar in text.decomposedStringWithCanonicalMapping.unicodeScalars {
            if scalar.isASCII {
                append(UInt8(scalar.value))
            } else if let substitute = substitutes[scalar] {
                substitute.utf8.forEach(append)
            } else if scalar.properties.generalCategory != .nonspacingMark {
                append(32)
            }
        }
        var value = String(decoding: bytes.prefix(max), as: UTF8.self)
        while value.last == " " { value.removeLast() }
        return value
    }
}

private func segment(_ id: String, _ elements: [String]) -> String {
    ([id] + elements.droppingTrailingEmpties).joined(separator: X12Text.elementSeparator)
}

private func composite(_ components: [String]) -> String {
    components.droppingTrailingEmpties.joined(separator: X12Text.componentSeparator)
}

/// CCYYMMDD, the D8 date format.
private func ccyymmdd(year: Int, month: Int, day: Int) -> String {
    pad(year, width: 4) + pad(month, width: 2) + pad(day, width: 2)
}

private func pad(_ value: Int, width: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, width - text.count)) + text
}
