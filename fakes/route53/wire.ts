import { XMLNS } from './api-error.js';
import { escapeName } from './names.js';
import type { ChangeRecord, ChangeStatus, FakeVpc, HostedZone } from './state.js';
import { textElement } from './xml.js';

/** Success bodies of the fake's API, in Route53's element names and order. */

export function document(root: string, content: string): string {
  return `<?xml version="1.0"?>\n<${root} xmlns="${XMLNS}">${content}</${root}>`;
}

export function changeInfoXml(change: ChangeRecord, status: ChangeStatus): string {
  return (
    `<ChangeInfo>${textElement('Id', `/change/${change.id}`)}${textElement('Status', status)}` +
    textElement('SubmittedAt', new Date(change.submittedAt).toISOString()) +
    `${change.comment === undefined ? '' : textElement('Comment', change.comment)}</ChangeInfo>`
  );
}

export function hostedZoneXml(zone: HostedZone): string {
  return (
    `<HostedZone>${textElement('Id', `/hostedzone/${zone.id}`)}${textElement('Name', escapeName(zone.name))}` +
    textElement('CallerReference', zone.callerReference) +
    `<Config>${zone.comment === undefined ? '' : textElement('Comment', zone.comment)}${textElement('PrivateZone', isPrivate(zone))}</Config>` +
    `${textElement('ResourceRecordSetCount', zone.sets.size)}</HostedZone>`
  );
}

export function isPrivate(zone: HostedZone): boolean {
  return zone.vpcs.length > 0;
}

/** A public zone's delegation set; a private zone has none (GetHostedZone lists its VPCs instead). */
export function delegationSetXml(zone: HostedZone): string {
  if (isPrivate(zone)) return '';
  return `<DelegationSet><NameServers>${zone.nameservers.map((ns) => textElement('NameServer', ns)).join('')}</NameServers></DelegationSet>`;
}

export function vpcXml(vpc: FakeVpc): string {
  return `<VPC>${textElement('VPCRegion', vpc.region)}${textElement('VPCId', vpc.id)}</VPC>`;
}

/** GetHostedZone's VPCs of a private zone; nothing for a public one. */
export function vpcsXml(zone: HostedZone): string {
  return isPrivate(zone) ? `<VPCs>${zone.vpcs.map(vpcXml).join('')}</VPCs>` : '';
}
