export * from './egress-policy';
export * from './aws-endpoints';
export * from './squid-config';
export * from './egress-proxy-provider';
