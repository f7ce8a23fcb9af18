public import Foundation

/// Who ClaimFlow says it is, and to whom it sends, in every 837P envelope.
public struct X12Settings: Sendable, Hashable {
    public var senderID: String
    public var receiverID: String
    public var submitterName: String
    public var submitterContactName: String
    public var submitterContactPhone: String
    public var receiverName: String
    public var usage: X12Envelope.Usage

    public init(
        senderID: String = "CLAIMFLOW", receiverID: String = "CLEARINGHOUSE", submitterName: String = "CLAIMFLOW BILLING",
        submitterContactName: String = "BILLING OFFICE", submitterContactPhone: String = "5555550100",
        receiverName: String = "CLEARINGHOUSE", usage: X12Envelope.Usage = .test
    ) {
        self.senderID = senderID
        self.receiverID = receiverID
        self.submitterName = submitterName
        self.submitterContactName = submitterContactName
        self.submitterContactPhone = submitterContactPhone
        self.receiverName = receiverName
        self.usage = usage
    }

    /// The envelope for one interchange with these control numbers.
    public func envelope(interchange: Int, group: Int, at date: Date) -> X12Envelope {
        X12Envelope(
            senderID: senderID, receiverID: receiverID, submitterName: submitterName,
            submitterContactName: submitterContactName, submitterContactPhone: submitterContactPhone,
            receiverName: receiverName, interchangeControlNumber: interchange, groupControlNumber: group, usage: usage,
            createdAt: date
        )
    }
}
