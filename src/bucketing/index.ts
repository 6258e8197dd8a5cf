export { fnv1a32, gbHash, getBucketRanges, chooseVariation, type BucketRange } from './growthbook-hash';
