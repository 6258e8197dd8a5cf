import { ApiKeyModel, type ApiKeyDocument } from './api-keys.model';

export const apiKeysRepository = {
  async insert(doc: ApiKeyDocument): Promise<void> {
    await ApiKeyModel.create(doc);
  },
  async findById(id: string): Promise<ApiKeyDocument | null> {
    return ApiKeyModel.findById(id).lean<ApiKeyDocument>();
  },
  async list(): Promise<ApiKeyDocument[]> {
    return ApiKeyModel.find().sort({ createdAt: 1 }).lean<ApiKeyDocument[]>();
  },
  async revoke(id: string, at: Date): Promise<ApiKeyDocument | null> {
    return ApiKeyModel.findByIdAndUpdate(id, { $set: { revokedAt: at } }, { new: true }).lean<ApiKeyDocument>();
  },
};
