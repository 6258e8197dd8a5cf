// What renderCampaignMessage is given for a campaign's message: the sender and the recipient export
// build it the same way.
import type { RenderInput } from '../tracking';
import type { CampaignRecord, MessageRecord } from './campaigns.model';

type Person = Pick<MessageRecord, 'customerId' | 'email' | 'name' | 'locale' | 'attributes'>;

export function renderCampaignOf(campaign: CampaignRecord): RenderInput['campaign'] {
  return { key: campaign._id, from: campaign.from, ...(campaign.replyTo ? { replyTo: campaign.replyTo } : {}) };
}

/** The message's part of the input: its id and variant, the person it goes to, and whether it carries the survey. */
export function renderItemOf(message: Pick<MessageRecord, '_id' | 'variant'>, person: Person, surveyed?: boolean): Omit<RenderInput, 'campaign' | 'experiment'> {
  return {
    messageId: message._id,
    variant: message.variant,
    ...(surveyed !== undefined ? { survey: surveyed } : {}),
    recipient: {
      customerId: person.customerId,
      email: person.email ?? '',
      ...(person.name !== undefined ? { name: person.name } : {}),
      ...(person.locale !== undefined ? { locale: person.locale } : {}),
      ...(person.attributes !== undefined ? { attributes: person.attributes } : {}),
    },
  };
}
