// Small stop-word lists, one per language the service speaks (src/modules/tracking/locales.catalogue.ts):
// the words that say nothing about what a customer thinks. They are compared after the same
// normalization as the comments (comment-terms.ts), so a list may be written with any letter variant.

export const STOP_WORDS: Record<'en' | 'fa' | 'ar', readonly string[]> = {
  en: [
    'a', 'about', 'after', 'again', 'all', 'also', 'am', 'an', 'and', 'any', 'are', 'as', 'at', 'be', 'because', 'been', 'before',
    'being', 'but', 'by', 'can', 'could', 'did', 'do', 'does', 'doing', 'for', 'from', 'had', 'has', 'have', 'having', 'he', 'her',
    'here', 'hers', 'him', 'his', 'how', 'i', "i'm", "i've", 'if', 'in', 'into', 'is', 'it', "it's", 'its', 'just', 'me', 'my',
    'myself', 'of', 'on', 'once', 'only', 'or', 'other', 'our', 'ours', 'out', 'over', 'own', 'she', 'so', 'some', 'such', 'than',
    'that', "that's", 'the', 'their', 'them', 'then', 'there', 'these', 'they', 'this', 'those', 'through', 'to', 'too', 'up',
    'us', 'was', 'we', 'were', 'what', 'when', 'where', 'which', 'while', 'who', 'whom', 'why', 'will', 'with', 'would', 'you',
    'your', 'yours', 'get', 'got', 'one',
  ],
  fa: [
    'و', 'در', 'به', 'از', 'که', 'این', 'آن', 'با', 'را', 'برای', 'تا', 'یا', 'هم', 'اما', 'ولی', 'اگر', 'چون', 'پس', 'نیز',
    'است', 'بود', 'شد', 'شده', 'باشد', 'هست', 'هستند', 'بودند', 'کرد', 'کردم', 'کرده', 'می', 'من', 'تو', 'او', 'ما', 'شما',
    'آنها', 'ایشان', 'خود', 'یک', 'هر', 'همه', 'چه', 'چی', 'کی', 'کجا', 'چرا', 'بر', 'روی', 'زیر', 'بین', 'دیگر', 'همین', 'همان',
    'اینکه', 'آنکه', 'ای', 'های', 'ها', 'بی', 'نه', 'خیلی', 'بسیار',
  ],
  ar: [
    'و', 'في', 'من', 'إلى', 'الى', 'على', 'عن', 'مع', 'أن', 'ان', 'إن', 'لا', 'ما', 'لم', 'لن', 'هل', 'قد', 'كان', 'كانت', 'يكون',
    'هذا', 'هذه', 'ذلك', 'تلك', 'الذي', 'التي', 'الذين', 'هو', 'هي', 'هم', 'أنا', 'انا', 'نحن', 'أنت', 'انت', 'كل', 'بعض', 'أو', 'او',
    'ثم', 'لكن', 'بل', 'حتى', 'إذا', 'اذا', 'كما', 'عند', 'بين', 'أي', 'اي', 'لقد', 'ليس', 'جدا', 'جداً', 'كثيرا', 'فقط', 'يا', 'به', 'بها',
    'له', 'لها', 'لي', 'فيه', 'فيها', 'منه', 'عليه',
  ],
};
