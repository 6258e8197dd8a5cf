export { campaignsRouter, campaignAudienceRouter } from './campaigns.router';
export { campaignsService, type CampaignPhase } from './campaigns.service';
export { SendWorker, wakeSendWorkers, type SendWorkerOptions } from './send.worker';
export { campaignScheduleDuty } from './campaigns.scheduler';
export { createMailTransport, sharedMailTransport, closeSharedMailTransport, classifySmtpError, type MailTransport, type MailTransportOptions } from './mail.transport';
export type { CampaignRecord, MessageRecord, DeliveryRecord } from './campaigns.model';
