public import Foundation

/// Administrative sex as the 837P's DMG segment carries it.
public enum Sex: String, Sendable, Hashable, CaseIterable, Codable {
    case female = "F"
    case male = "M"
    case unknown = "U"
}

/// A person's demographics as intake sends them: the patient, or the insured subscriber.
public struct Person: Sendable, Hashable, Codable {
    public var firstName: String
    public var lastName: String
    public var birthDate: CalendarDate
    public var sex: Sex
    public var address: PostalAddress?

    public init(firstName: String, lastName: String, birthDate: CalendarDate, sex: Sex, address: PostalAddress? = nil) {
        self.firstName = firstName
        self.lastName = lastName
        self.birthDate = birthDate
        self.sex = sex
        self.address = address
    }
}

/// X12 individual relationship codes of a patient to the subscriber (loop 2000B SBR02 / 2000C
/// PAT01): the one list intake, the 837P writer and the schema's CHECK agree on.
public enum PatientRelationship {
    /// The patient is the subscriber.
    public static let subscriberSelf = "18"
    /// Every code ClaimFlow accepts, self first.
    public static let codes = ["18", "01", "19", "20", "21", "39", "40", "53", "G8"]
    public static let summary = "18 self, 01 spouse, 19 child, 20 employee, 21 unknown, 39, 40, 53 or G8 other"
}

/// The insurance coverage an encounter is billed to.
public struct Coverage: Sendable, Hashable, Codable {
    public var payerID: UUID
    public var memberID: String
    public var groupNumber: String?
    /// The insured person; the patient themself when `relationship` is `18` (self).
    public var subscriber: Person
    /// X12 individual relationship code of the patient to the subscriber (18 self, 01 spouse,
    /// 19 child, G8 other).
    public var relationship: String

    public init(payerID: UUID, memberID: String, groupNumber: String? = nil, subscriber: Person, relationship: String = "18") {
        self.payerID = payerID
        self.memberID = memberID
        self.groupNumber = groupNumber
        self.subscriber = subscriber
        self.relationship = relationship
    }
}

/// An encounter as it arrives from the clinic, before anyone has coded it.
public struct EncounterIntake: Sendable, Hashable, Codable {
    public var practiceID: UUID
    /// The practice's own id for the visit; intake is idempotent on it.
    public var externalID: String
    /// The practice's medical record number for the patient.
    public var patientMRN: String
    public var patient: Person
    public var coverage: Coverage
    public var renderingProviderID: UUID
    public var dateOfService: CalendarDate
    public var placeOfService: String
    /// The specialty whose coders may code it (a coder's skill).
    public var specialty: String
    public var priority: Int
    /// The clinician's note. PHI: never logged.
    public var documentation: String
    /// What the claim carries beyond the basics (referral, authorization, accident, dates,
    /// referring provider, service facility); nil when the clinic sent none.
    public var claimDetails: X12Claim.Details?

    public init(
        practiceID: UUID, externalID: String, patientMRN: String, patient: Person, coverage: Coverage,
        renderingProviderID: UUID, dateOfService: CalendarDate, placeOfService: String, specialty: String,
        priority: Int = 0, documentation: String, claimDetails: X12Claim.Details? = nil
    ) {
        self.practiceID = practiceID
        self.externalID = externalID
        self.patientMRN = patientMRN
        self.patient = patient
        self.coverage = coverage
        self.renderingProviderID = renderingProviderID
        self.dateOfService = dateOfService
        self.placeOfService = placeOfService
        self.specialty = specialty
        self.priority = priority
        self.documentation = documentation
        self.claimDetails = claimDetails
    }
}
