/*! Verdict browser snippet, served at /sdk/verdict.js: page experiments without a GrowthBook SDK.
 *
 *   Verdict.init({ clientKey, apiHost, customerId, attributes }) -> Promise (the SDK payload is loaded)
 *   Verdict.variant(experimentKey) -> the variant key to show (reports the exposure once per page view)
 *   Verdict.track(name, { value, properties })
 *
 * Buckets locally exactly as the service does (GrowthBook hash v2 and bucket ranges, the payload's
 * targeting conditions). Exposures and events are batched and sent with navigator.sendBeacon when the
 * page is hidden (fetch with keepalive where there is no beacon). Plain ES5, no dependencies.
 */
(function (root) {
  'use strict';
  if (root.Verdict && root.Verdict.version) return;

  var FLUSH_AT_ITEMS = 20; // a long-lived page sends before it is hidden, too
  var MAX_BEACON_BYTES = 30000; // beacons and keepalive requests share 64 KiB in flight

  var config = null;
  var features = {};
  var queue = [];
  var exposed = {};
  var pageView = randomId();
  var sequence = 0;
  var loading = null;
  var listening = false;

  function randomId() {
    var cryptoApi = root.crypto;
    if (cryptoApi && cryptoApi.getRandomValues) {
      var bytes = cryptoApi.getRandomValues(new Uint8Array(12));
      var hex = '';
      for (var i = 0; i < bytes.length; i++) hex += (bytes[i] + 256).toString(16).slice(1);
      return hex;
    }
    return Math.random().toString(36).slice(2) + Date.now().toString(36);
  }

  // GrowthBook's hash, version 2: 32-bit FNV-1a over UTF-16 code units, applied twice.
  function fnv1a32(value) {
    var hval = 0x811c9dc5;
    for (var i = 0; i < value.length; i++) {
      hval ^= value.charCodeAt(i);
      hval += (hval << 1) + (hval << 4) + (hval << 7) + (hval << 8) + (hval << 24);
    }
    return hval >>> 0;
  }

  function hashV2(seed, value) {
    return (fnv1a32(fnv1a32(seed + value) + '') % 10000) / 10000;
  }

  // GrowthBook's getBucketRanges: each variation's share of [0, 1), its first `coverage` part used.
  function bucketRanges(count, coverage, weights) {
    var cover = coverage === undefined ? 1 : Math.min(1, Math.max(0, coverage));
    var equal = [];
    var i;
    for (i = 0; i < count; i++) equal.push(1 / count);
    var w = weights || equal;
    if (w.length !== count) w = equal;
    var total = 0;
    for (i = 0; i < w.length; i++) total += w[i];
    if (total < 0.99 || total > 1.01) w = equal;
    var ranges = [];
    var cumulative = 0;
    for (i = 0; i < w.length; i++) {
      var start = cumulative;
      cumulative += w[i];
      ranges.push([start, start + cover * w[i]]);
    }
    return ranges;
  }

  function chooseVariation(n, ranges) {
    for (var i = 0; i < ranges.length; i++) if (n >= ranges[i][0] && n < ranges[i][1]) return i;
    return -1;
  }

  // Targeting conditions, evaluated as GrowthBook's evalCondition does, for the operators Verdict's
  // targeting allows ($eq $ne $in $nin $gt $gte $lt $lte $exists, and $or $nor $and $not).
  function getPath(obj, path) {
    var parts = path.split('.');
    var current = obj;
    for (var i = 0; i < parts.length; i++) {
      if (current && typeof current === 'object' && parts[i] in current) current = current[parts[i]];
      else return null;
    }
    return current;
  }

  function isOperatorObject(obj) {
    var keys = Object.keys(obj);
    if (keys.length === 0) return false;
    for (var i = 0; i < keys.length; i++) if (keys[i].charAt(0) !== '$') return false;
    return true;
  }

  function includes(list, value) {
    for (var i = 0; i < list.length; i++) if (list[i] === value || (list[i] !== list[i] && value !== value)) return true;
    return false;
  }

  function isIn(actual, expected) {
    if (Array.isArray(actual)) {
      for (var i = 0; i < actual.length; i++) if (includes(expected, actual[i])) return true;
      return false;
    }
    return includes(expected, actual);
  }

  function evalOperator(operator, actual, expected) {
    switch (operator) {
      case '$eq': return actual === expected;
      case '$ne': return actual !== expected;
      case '$lt': return actual < expected;
      case '$lte': return actual <= expected;
      case '$gt': return actual > expected;
      case '$gte': return actual >= expected;
      case '$exists': return expected ? actual != null : actual == null;
      case '$in': return Array.isArray(expected) && isIn(actual, expected);
      case '$nin': return Array.isArray(expected) && !isIn(actual, expected);
      case '$not': return !evalValue(expected, actual);
      default: return false;
    }
  }

  function evalValue(condition, value) {
    if (typeof condition === 'string') return value + '' === condition;
    if (typeof condition === 'number') return value * 1 === condition;
    if (typeof condition === 'boolean') return value !== null && !!value === condition;
    if (condition === null) return value === null;
    if (Array.isArray(condition) || !isOperatorObject(condition)) return JSON.stringify(value) === JSON.stringify(condition);
    for (var operator in condition) {
      if (Object.prototype.hasOwnProperty.call(condition, operator) && !evalOperator(operator, value, condition[operator])) return false;
    }
    return true;
  }

  function anyOf(obj, conditions) {
    if (!conditions.length) return true;
    for (var i = 0; i < conditions.length; i++) if (evalCondition(obj, conditions[i])) return true;
    return false;
  }

  function evalCondition(obj, condition) {
    var keys = Object.keys(condition);
    for (var i = 0; i < keys.length; i++) {
      var key = keys[i];
      var value = condition[key];
      if (key === '$or') {
        if (!anyOf(obj, value)) return false;
      } else if (key === '$nor') {
        if (anyOf(obj, value)) return false;
      } else if (key === '$and') {
        for (var j = 0; j < value.length; j++) if (!evalCondition(obj, value[j])) return false;
      } else if (key === '$not') {
        if (evalCondition(obj, value)) return false;
      } else if (!evalValue(value, getPath(obj, key))) {
        return false;
      }
    }
    return true;
  }

  /**
   * What the payload's feature `key` gives a visitor with these attributes (`id` is the customer id),
   * as a GrowthBook SDK evaluates it: {variant, inExperiment, source}, or null for an unknown feature.
   * Pure: reports nothing.
   */
  function evaluate(key, attributes) {
    var feature = features[key];
    if (!feature) return null;
    var rules = feature.rules || [];
    for (var r = 0; r < rules.length; r++) {
      var rule = rules[r];
      if (rule.condition && !evalCondition(attributes, rule.condition)) continue;
      if ('force' in rule) return { variant: rule.force, inExperiment: false, source: 'force' };
      var variations = rule.variations;
      if (!variations || variations.length < 2 || rule.hashVersion !== 2) continue;
      var hashValue = attributes[rule.hashAttribute || 'id'];
      if (!hashValue) continue;
      var experiment = rule.key || key;
      var index = chooseVariation(hashV2(rule.seed || experiment, hashValue), rule.ranges || bucketRanges(variations.length, rule.coverage, rule.weights));
      if (index < 0) continue;
      var meta = (rule.meta && rule.meta[index]) || {};
      return { variant: variations[index], key: meta.key || String(index), experiment: experiment, inExperiment: true, source: 'experiment' };
    }
    return { variant: feature.defaultValue === undefined ? null : feature.defaultValue, inExperiment: false, source: 'defaultValue' };
  }

  function visitor() {
    var attributes = {};
    var given = config.attributes;
    for (var name in given) if (Object.prototype.hasOwnProperty.call(given, name)) attributes[name] = given[name];
    attributes.id = config.customerId;
    return attributes;
  }

  function nextId() {
    sequence += 1;
    return pageView + '.' + sequence;
  }

  function enqueue(item) {
    queue.push(item);
    if (queue.length >= FLUSH_AT_ITEMS) flush();
  }

  function byteLength(text) {
    return root.TextEncoder ? new root.TextEncoder().encode(text).length : unescape(encodeURIComponent(text)).length;
  }

  // A string body goes as text/plain: a simple request, sent without a CORS preflight.
  function send(url, body) {
    var nav = root.navigator;
    try {
      if (nav && nav.sendBeacon && nav.sendBeacon(url, body)) return;
    } catch (e) {
      // fall back to fetch
    }
    if (root.fetch) {
      root.fetch(url, { method: 'POST', body: body, keepalive: true, mode: 'cors', credentials: 'omit', headers: { 'Content-Type': 'text/plain' } }).catch(function () {});
    }
  }

  function flush() {
    if (!config || queue.length === 0) return;
    var url = config.apiHost + '/api/events/' + encodeURIComponent(config.clientKey);
    while (queue.length > 0) {
      var batch = [];
      var bytes = 12;
      while (queue.length > 0) {
        var size = byteLength(JSON.stringify(queue[0])) + 1;
        if (batch.length > 0 && bytes + size > MAX_BEACON_BYTES) break;
        batch.push(queue.shift());
        bytes += size;
      }
      send(url, JSON.stringify({ items: batch }));
    }
  }

  function listen() {
    if (listening || !root.addEventListener) return;
    listening = true;
    if (root.document) {
      root.document.addEventListener('visibilitychange', function () {
        if (root.document.visibilityState === 'hidden') flush();
      });
    }
    root.addEventListener('pagehide', flush);
    // A page restored from the back/forward cache is a new page view.
    root.addEventListener('pageshow', function (event) {
      if (event.persisted) {
        exposed = {};
        pageView = randomId();
      }
    });
  }

  var Verdict = {
    version: '1',

    init: function (options) {
      if (!options || !options.clientKey || !options.apiHost || !options.customerId) throw new Error('Verdict.init needs clientKey, apiHost and customerId');
      config = {
        clientKey: String(options.clientKey),
        apiHost: String(options.apiHost).replace(/\/+$/, ''),
        customerId: String(options.customerId),
        attributes: options.attributes || {},
      };
      listen();
      loading = root
        .fetch(config.apiHost + '/api/features/' + encodeURIComponent(config.clientKey), { mode: 'cors', credentials: 'omit' })
        .then(function (response) {
          if (!response.ok) throw new Error('Verdict: the features answered ' + response.status);
          return response.json();
        })
        .then(function (payload) {
          features = (payload && payload.features) || {};
          return Verdict;
        });
      return loading;
    },

    /** Resolves once init's payload is loaded. */
    ready: function () {
      return loading || Promise.reject(new Error('Verdict.init has not been called'));
    },

    /**
     * The variant key to show: the customer's variant, the winner of a rolled-out experiment, or the
     * control when the customer is not in the experiment; null for an unknown experiment or before the
     * payload is loaded. The first call per experiment and page view that puts the customer in the
     * experiment reports the exposure.
     */
    variant: function (experimentKey) {
      if (!config) return null;
      var result = evaluate(experimentKey, visitor());
      if (!result) return null;
      if (result.inExperiment && !exposed[experimentKey]) {
        exposed[experimentKey] = true;
        var item = { type: 'exposure', id: nextId(), experiment: result.experiment, variant: result.key, customerId: config.customerId };
        if (Object.keys(config.attributes).length > 0) item.attributes = config.attributes;
        enqueue(item);
      }
      return result.variant;
    },

    /** Sends an event (conversion, a click...) for the page experiments the customer is in. */
    track: function (name, details) {
      if (!config) throw new Error('Verdict.track needs Verdict.init first');
      var item = { type: 'event', id: nextId(), name: String(name), customerId: config.customerId };
      if (details && details.value !== undefined) item.value = details.value;
      if (details && details.properties !== undefined) item.properties = details.properties;
      enqueue(item);
    },

    /** Sends what is queued now (it is sent by itself when the page is hidden). */
    flush: flush,

    /** Pure evaluation against the loaded payload: attributes must carry `id`. Nothing is reported. */
    evaluate: evaluate,
  };

  root.Verdict = Verdict;
  if (typeof module === 'object' && module && module.exports) module.exports = Verdict;
})(typeof window !== 'undefined' ? window : this);
