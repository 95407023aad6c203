/**
 * Squid `dstdom_regex` patterns for IP-literal hosts, the same rule as `isIpLiteral`: IPv6
 * (contains ':' or starts with '['), or a last label that is a number (decimal or 0x-hex).
 */
export const IP_LITERAL_SQUID_REGEXES = [':', '^\\[', '(^|\\.)([0-9]+|0x[0-9a-f]*)\\.?$'];
