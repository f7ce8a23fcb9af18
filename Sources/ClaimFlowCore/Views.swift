public import Foundation

/// What a coder sees of an encounter: the documentation, the demographics coding needs
/// (age and sex), and the codes. No names, member ids or addresses (minimum necessary).
public struct CoderEncounterView: Sendable, Hashable, Codable {
    public var id: UUID
    public var externalID: String
    public var practiceCode: String
    public var stage: Stage
    public var version: Int
    public var dateOfService: CalendarDate
    public var placeOfService: String
    public var specialty: String
    public var priority: Int
    public var patientAge: Int
    public var patientSex: Sex
    public var renderingProvider: String
    public var documentation: String
    public var codes: CodeAssignment
    /// Open or answered provider queries, oldest first.
    public var queries: [ProviderQuery]
    /// Why the handoff check sent this version back, when it did.
    public var findings: [CodingFinding] = []

    public init(
        id: UUID, externalID: String, practiceCode: String, stage: Stage, version: Int, dateOfService: CalendarDate,
        placeOfService: String, specialty: String, priority: Int, patientAge: Int, patientSex: Sex,
        renderingProvider: String, documentation: String, codes: CodeAssignment, queries: [ProviderQuery]
    ) {
        self.id = id
        self.externalID = externalID
        self.practiceCode = practiceCode
        self.stage = stage
        self.version = version
        self.dateOfService = dateOfService
        self.placeOfService = placeOfService
        self.specialty = specialty
        self.priority = priority
        self.patientAge = patientAge
        self.patientSex = patientSex
        self.renderingProvider = renderingProvider
        self.documentation = documentation
        self.codes = codes
        self.queries = queries
    }
}

/// A coder's question to the clinician and, once given, the answer.
public struct ProviderQuery: Sendable, Hashable, Codable {
    public var id: UUID
    public var question: String
    public var askedAt: Date
    public var answer: String?
    public var answeredAt: Date?

    public init(id: UUID, question: String, askedAt: Date, answer: String?, answeredAt: Date?) {
        self.id = id
        self.question = question
        self.askedAt = askedAt
        self.answer = answer
        self.answeredAt = answeredAt
    }
}

/// What a biller sees of a claim: what the 837P needs, and no clinical documentation.
public struct BillerClaimView: Sendable, Hashable, Codable {
    public struct Party: Sendable, Hashable, Codable {
        public var firstName: String
        public var lastName: String
        public var birthDate: CalendarDate
        public var sex: Sex
        public var address: PostalAddress?

        public init(firstName: String, lastName: String, birthDate: CalendarDate, sex: Sex, address: PostalAddress?) {
            self.firstName = firstName
            self.lastName = lastName
            self.birthDate = birthDate
            self.sex = sex
            self.address = address
        }
    }

    public var id: UUID
    public var encounterID: UUID
    public var version: Int
    public var frequencyCode: String
    public var status: String
    public var stage: Stage
    @MoneyAmount public var totalCharge: Decimal
    public var practice: Practice
    public var renderingProviderNPI: String
    public var renderingProviderName: String
    public var payerCode: String
    public var payerName: String
    public var memberID: String
    public var groupNumber: String?
    public var relationship: String
    public var subscriber: Party
    public var patient: Party
    public var dateOfService: CalendarDate
    public var placeOfService: String
    public var codes: CodeAssignment

    public init(
        id: UUID, encounterID: UUID, version: Int, frequencyCode: String, status: String, stage: Stage,
        totalCharge: Decimal, practice: Practice, renderingProviderNPI: String, renderingProviderName: String,
        payerCode: String, payerName: String, memberID: String, groupNumber: String?, relationship: String,
        subscriber: Party, patient: Party, dateOfService: CalendarDate, placeOfService: String, codes: CodeAssignment
    ) {
        self.id = id
        self.encounterID = encounterID
        self.version = version
        self.frequencyCode = frequencyCode
        self.status = status
        self.stage = stage
        self.totalCharge = totalCharge
        self.practice = practice
        self.renderingProviderNPI = renderingProviderNPI
        self.renderingProviderName = renderingProviderName
        self.payerCode = payerCode
        self.payerName = payerName
        self.memberID = memberID
        self.groupNumber = groupNumber
        self.relationship = relationship
        self.subscriber = subscriber
        self.patient = patient
        self.dateOfService = dateOfService
        self.placeOfService = placeOfService
        self.codes = codes
    }
}

/// One entry of an encounter's audit trail.
public struct AuditEvent: Sendable, Hashable, Codable {
    public var id: Int64
    public var occurredAt: Date
    public var action: String
    /// The acting user's id and name; nil when ClaimFlow itself acted.
    public var actorID: UUID?
    public var actorUsername: String?
    public var fromStage: String?
    public var toStage: String?
    public var leaseID: UUID?
    public var clientAddress: String?
    public var requestID: String?
    public var detail: String

    public init(
        id: Int64, occurredAt: Date, action: String, actorID: UUID?, actorUsername: String?, fromStage: String?,
        toStage: String?, leaseID: UUID?, clientAddress: String?, requestID: String?, detail: String
    ) {
        self.id = id
        self.occurredAt = occurredAt
        self.action = action
        self.actorID = actorID
        self.actorUsername = actorUsername
        self.fromStage = fromStage
        self.toStage = toStage
        self.leaseID = leaseID
        self.clientAddress = clientAddress
        self.requestID = requestID
        self.detail = detail
    }
}
