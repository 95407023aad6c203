export * from './egress-policy';
export * from './aws-endpoints';
export * from './squid-config';
export * from './egress-proxy-provider';
export * from './client-settings';
export * from './egress-proxy-service';
export * from './egress-proxy-endpoint';
export * from './private-egress-proxy';
