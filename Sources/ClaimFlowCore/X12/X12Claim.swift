public import Foundation

/// Everything one professional claim (837P 005010X222A1, loops 2000A through 2400) needs,
/// gathered so the writer can stay a pure function of its input.
///
/// Text values may hold anything a person typed: the writer cleans them for X12 (see
/// `X12Writer`). Codes and amounts are checked instead, because silently changing those
/// would change what is billed.
public struct X12Claim: Sendable, Hashable {
    /// The clinician who performed the services (loop 2310B).
    public struct RenderingProvider: Sendable, Hashable, Codable {
        public var npi: String
        public var firstName: String
        public var lastName: String
        /// Written as PRV*PE when known; some payers price by the rendering taxonomy.
        public var taxonomy: String?

        public init(npi: String, firstName: String, lastName: String, taxonomy: String? = nil) {
            self.npi = npi
            self.firstName = firstName
            self.lastName = lastName
            self.taxonomy = taxonomy
        }
    }

    /// A clinician named on a claim besides the rendering one: the referring provider (2310A).
    public struct Clinician: Sendable, Hashable, Codable {
        public var npi: String
        public var firstName: String
        public var lastName: String

        public init(npi: String, firstName: String, lastName: String) {
            self.npi = npi
            self.firstName = firstName
            self.lastName = lastName
        }
    }

    /// Where the services were given when it is not the billing provider's address (2310C).
    public struct ServiceFacility: Sendable, Hashable, Codable {
        public var name: String
        /// Written when the facility has one.
        public var npi: String?
        public var address: PostalAddress

        public init(name: String, npi: String? = nil, address: PostalAddress) {
            self.name = name
            self.npi = npi
            self.address = address
        }
    }

    /// What payers ask of a claim beyond the basics: the referral and authorization, why the
    /// patient came (an accident), the dates around the illness, and who else took part.
    public struct Details: Sendable, Hashable, Codable {
        /// Loop 2310A (NM1*DN): required by Medicare for referred and ordered services.
        public var referringProvider: Clinician?
        /// Loop 2310C (NM1*77, N3, N4): payers require it for places of service 21, 22, 23, 31 and others away from the practice.
        public var serviceFacility: ServiceFacility?
        /// REF*G1.
        public var priorAuthorization: String?
        /// REF*9F.
        public var referralNumber: String?
        /// CLM11-1 and CLM11-2: `AA` auto accident, `EM` employment, `OA` other accident.
        public var relatedCauses: [String]
        /// CLM11-4: the state of an auto accident.
        public var accidentState: String?
        /// DTP*439: required with an auto or other accident.
        public var accidentDate: CalendarDate?
        /// DTP*431 onset of the current illness, DTP*454 initial treatment, DTP*304 last seen.
        public var onsetDate: CalendarDate?
        public var initialTreatmentDate: CalendarDate?
        public var lastSeenDate: CalendarDate?

        public init(
            referringProvider: Clinician? = nil, serviceFacility: ServiceFacility? = nil, priorAuthorization: String? = nil,
            referralNumber: String? = nil, relatedCauses: [String] = [], accidentState: String? = nil, accidentDate: CalendarDate? = nil,
            onsetDate: CalendarDate? = nil, initialTreatmentDate: CalendarDate? = nil, lastSeenDate: CalendarDate? = nil
        ) {
            self.referringProvider = referringProvider
            self.serviceFacility = serviceFacility
            self.priorAuthorization = priorAuthorization
            self.referralNumber = referralNumber
            self.relatedCauses = relatedCauses
            self.accidentState = accidentState
            self.accidentDate = accidentDate
            self.onsetDate = onsetDate
            self.initialTreatmentDate = initialTreatmentDate
            self.lastSeenDate = lastSeenDate
        }
    }

    /// ClaimFlow's id of the claim; errors name it so a batch can set the claim aside.
    public var claimID: UUID
    /// CLM01: what the payer echoes back in 277CA and 835 (CLP01), so acknowledgments and
    /// remittances can be matched to the claim. Many payers keep only 20 characters.
    public var patientControlNumber: String
    /// CLM05-3: `1` original, `7` replacement, `8` void.
    public var frequencyCode: String
    /// The payer's number for the claim being replaced or voided (REF*F8); required for 7 and 8.
    public var payerClaimControlNumber: String?
    /// CLM02; must equal the sum of the line charges, which payers check.
    public var totalCharge: Decimal
    /// Two-digit place of service code (CLM05-1).
    public var placeOfService: String
    /// Written on every line (DTP*472): ClaimFlow bills one visit per claim.
    public var dateOfService: CalendarDate
    /// Loop 2010AA: the practice whose NPI and tax id are paid.
    public var billingProvider: Practice
    /// Loop 2310B; left out when nil or when it has the billing provider's NPI, as the
    /// implementation guide asks.
    public var renderingProvider: RenderingProvider?
    /// Loop 2010BB.
    public var payer: Payer
    /// SBR09, such as `CI` commercial, `MB` Medicare Part B, `MC` Medicaid, `BL` Blue Cross:
    /// the payer profile's unless given.
    public var claimFilingIndicator: String
    /// NM109 of loop 2010BA.
    public var memberID: String
    /// SBR03, when the plan has one.
    public var groupNumber: String?
    /// The insured person (loop 2010BA).
    public var subscriber: Person
    /// The patient's relationship to the subscriber: `18` self, or a PAT01 code (01 spouse,
    /// 19 child, 20 employee, 21 unknown, 39 organ donor, 40 cadaver donor, 53 life partner,
    /// G8 other). Anything but 18 adds the patient loop 2000C/2010CA.
    public var relationship: String
    /// The patient; ignored when `relationship` is `18`, since the subscriber is then the patient.
    public var patient: Person
    /// ICD-10-CM codes, with or without their dot, in claim order; the first is principal.
    public var diagnoses: [String]
    public var lines: [ServiceLine]
    /// Loops and segments written when given (2300 DTP, REF and CLM11; 2310A; 2310C).
    public var details = Details()

    /// - Parameters:
    ///   - patientControlNumber: when nil, the compact form of `claimID`
    ///     (`X12Claim.patientControlNumber(for:)`).
    ///   - claimFilingIndicator: when nil, the payer profile's (`Payer.claimFilingIndicator`).
    public init(
        claimID: UUID, patientControlNumber: String? = nil, frequencyCode: String = "1",
        payerClaimControlNumber: String? = nil, totalCharge: Decimal, placeOfService: String,
        dateOfService: CalendarDate, billingProvider: Practice, renderingProvider: RenderingProvider?, payer: Payer,
        claimFilingIndicator: String? = nil, memberID: String, groupNumber: String? = nil, subscriber: Person,
        relationship: String = "18", patient: Person, diagnoses: [String], lines: [ServiceLine]
    ) {
        self.claimID = claimID
        self.patientControlNumber = patientControlNumber ?? Self.patientControlNumber(for: claimID)
        self.frequencyCode = frequencyCode
        self.payerClaimControlNumber = payerClaimControlNumber
        self.totalCharge = totalCharge
        self.placeOfService = placeOfService
        self.dateOfService = dateOfService
        self.billingProvider = billingProvider
        self.renderingProvider = renderingProvider
        self.payer = payer
        self.claimFilingIndicator = claimFilingIndicator ?? payer.claimFilingIndicator
        self.memberID = memberID
        self.groupNumber = groupNumber
        self.subscriber = subscriber
        self.relationship = relationship
        self.patient = patient
        self.diagnoses = diagnoses
        self.lines = lines
    }

    /// REF*6R of loop 2400: the line item control number, echoed back by the payer in the 835 (REF*6R of loop 2110)
    ///
    /// `line` is 1-based, as LX01 numbers it; with CLM01's at most 38 characters the result
    /// fits REF02's 50.
    public static func lineItemControlNumber(patientControlNumber: String, line: Int) -> String {
        "\(patientControlNumber)-\(line)"
    }

    /// The first 20 hex digits of the id, upper-cased and without dashes: short enough for
    /// payers that keep only 20 characters of CLM01, and still 80 bits of the id, so two
    /// claims do not collide in practice.
    public static func patientControlNumber(for claimID: UUID) -> String {
        String(claimID.uuidString.uppercased().filter { $0 != "-" }.prefix(20))
    }
}

/// The interchange and functional group around a batch of claims (ISA/GS, loops 1000A and
/// 1000B): who sends, who receives, and the control numbers that make the batch unique.
public struct X12Envelope: Sendable, Hashable {
    /// ISA15: receivers route test files away from adjudication.
    public enum Usage: String, Sendable, Hashable {
        case test = "T"
        case production = "P"
    }

    /// ISA05, such as `ZZ` (mutually defined) or `30` (tax id).
    public var senderQualifier: String
    /// ISA06 (at most 15 characters); also GS02 and the 1000A submitter id unless those are given.
    public var senderID: String
    /// ISA07.
    public var receiverQualifier: String
    /// ISA08 (at most 15 characters); also GS03 and the 1000B receiver id unless those are given.
    public var receiverID: String
    /// GS02, when the clearinghouse assigns one that differs from ISA06.
    public var applicationSenderCode: String?
    /// GS03, when the clearinghouse assigns one that differs from ISA08.
    public var applicationReceiverCode: String?
    /// 1000A NM103.
    public var submitterName: String
    /// 1000A NM109 (the submitter's ETIN), when it differs from `senderID`.
    public var submitterID: String?
    /// 1000A PER02: the person the receiver calls about a rejected file.
    public var submitterContactName: String
    /// 1000A PER04; only its digits are written.
    public var submitterContactPhone: String
    /// 1000B NM103.
    public var receiverName: String
    /// 1000B NM109, when it differs from `receiverID`.
    public var receiverIdentifier: String?
    /// ISA13/IEA02, 1 to 999999999, written with nine digits. Never reused: receivers reject
    /// an interchange whose control number they have seen.
    public var interchangeControlNumber: Int
    /// GS06/GE02, 1 to 999999999.
    public var groupControlNumber: Int
    public var usage: Usage
    /// ISA14: whether the receiver should answer with a TA1.
    public var acknowledgmentRequested: Bool
    /// ISA09/10, GS04/05 and BHT04/05, written in UTC.
    public var createdAt: Date

    public init(
        senderQualifier: String = "ZZ", senderID: String, receiverQualifier: String = "ZZ", receiverID: String,
        applicationSenderCode: String? = nil, applicationReceiverCode: String? = nil, submitterName: String,
        submitterID: String? = nil, submitterContactName: String, submitterContactPhone: String, receiverName: String,
        receiverIdentifier: String? = nil, interchangeControlNumber: Int, groupControlNumber: Int,
        usage: Usage, acknowledgmentRequested: Bool = false, createdAt: Date
    ) {
        self.senderQualifier = senderQualifier
        self.senderID = senderID
        self.receiverQualifier = receiverQualifier
        self.receiverID = receiverID
        self.applicationSenderCode = applicationSenderCode
        self.applicationReceiverCode = applicationReceiverCode
        self.submitterName = submitterName
        self.submitterID = submitterID
        self.submitterContactName = submitterContactName
        self.submitterContactPhone = submitterContactPhone
        self.receiverName = receiverName
        self.receiverIdentifier = receiverIdentifier
        self.interchangeControlNumber = interchangeControlNumber
        self.groupControlNumber = groupControlNumber
        self.usage = usage
        self.acknowledgmentRequested = acknowledgmentRequested
        self.createdAt = createdAt
    }
}
