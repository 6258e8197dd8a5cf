import { ClientKeyModel, type ClientKeyDocument } from './client-keys.model';

export const clientKeysRepository = {
  async insert(doc: ClientKeyDocument): Promise<void> {
    await ClientKeyModel.create(doc);
  },
  async findById(id: string): Promise<ClientKeyDocument | null> {
    return ClientKeyModel.findById(id).lean<ClientKeyDocument>();
  },
  async list(): Promise<ClientKeyDocument[]> {
    return ClientKeyModel.find().sort({ createdAt: 1, _id: 1 }).lean<ClientKeyDocument[]>();
  },
  /** Sets revokedAt once (a second revoke keeps the first time); null when there is no such key. */
  async revoke(id: string, at: Date): Promise<ClientKeyDocument | null> {
    const revoked = await ClientKeyModel.findOneAndUpdate({ _id: id, revokedAt: { $exists: false } }, { $set: { revokedAt: at } }, { new: true }).lean<ClientKeyDocument>();
    return revoked ?? ClientKeyModel.findById(id).lean<ClientKeyDocument>();
  },
};
