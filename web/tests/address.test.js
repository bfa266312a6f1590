// Address helpers: parsing, normalising, matching with wildcards, joining, and which host owns
// an address.

import test from 'node:test';
import assert from 'node:assert/strict';
import { addrKind, hostOfAddr, isAbstractAddr, isUnixAddr, joinAddr, normIp, parseAddr, parseIp, sameEndpoint, shortUnixName, unixName } from '../static/address.js';

const model = { hosts: [{ name: 'A', addrs: ['10.0.0.1', 'fd00::1'] }, { name: 'B', addrs: ['10.0.0.2', 'FD00::2'] }] };

test('an IPv4-mapped IPv6 address compares as plain IPv4, in lower case', () => {
  assert.equal(normIp('::ffff:10.0.0.2'), '10.0.0.2');
  assert.equal(normIp('FD00::2'), 'fd00::2');
  assert.equal(normIp('::ffff:1'), '::ffff:1', 'not a mapped IPv4');
});

test('ip:port and [ip6]:port parse; nonsense does not', () => {
  assert.deepEqual(parseAddr('10.0.0.2:8080'), { ip: '10.0.0.2', port: 8080 });
  assert.deepEqual(parseAddr('[fd00::2]:8080'), { ip: 'fd00::2', port: 8080 });
  assert.deepEqual(parseAddr('[::ffff:10.0.0.1]:9'), { ip: '10.0.0.1', port: 9 });
  assert.equal(parseAddr(''), null);
  assert.equal(parseAddr(null), null);
  assert.equal(parseAddr('no-port'), null);
});

test('a wildcard address matches any address on the same port', () => {
  assert.ok(sameEndpoint('10.0.0.2:8080', '10.0.0.2:8080'));
  assert.ok(sameEndpoint('0.0.0.0:8080', '10.0.0.2:8080'));
  assert.ok(sameEndpoint('[fd00::2]:80', '[::]:80'));
  assert.ok(!sameEndpoint('0.0.0.0:8080', '10.0.0.2:8081'), 'other port');
  assert.ok(!sameEndpoint('10.0.0.1:8080', '10.0.0.2:8080'), 'other address');
  assert.ok(sameEndpoint({ ip: '10.0.0.2', port: 1 }, '10.0.0.2:1'), 'parsed or not');
  assert.ok(!sameEndpoint(null, '10.0.0.2:1'));
});

test('joining puts IPv6 in brackets and round-trips through parsing', () => {
  assert.equal(joinAddr('10.0.0.2', 80), '10.0.0.2:80');
  assert.equal(joinAddr('fd00::2', 80), '[fd00::2]:80');
  for (const text of ['10.0.0.2:80', '[fd00::2]:80']) {
    const { ip, port } = parseAddr(text);
    assert.equal(joinAddr(ip, port), text);
  }
});

test('the host that owns an address, with or without its port', () => {
  assert.equal(hostOfAddr(model, '10.0.0.2:8080'), 'B');
  assert.equal(hostOfAddr(model, '10.0.0.1'), 'A');
  assert.equal(hostOfAddr(model, '[fd00::2]:80'), 'B', 'case does not matter');
  assert.equal(hostOfAddr(model, '::ffff:10.0.0.1'), 'A');
  assert.equal(hostOfAddr(model, '10.0.0.9:1'), null);
  assert.equal(hostOfAddr(model, ''), null);
});

test('Unix-domain names and bare IPs are never read as ip:port', () => {
  for (const text of ['/tmp/echo.sock', '/tmp/a:8080', '@echo', '@x:1', '10.0.0.2', 'fd00::2', '::1']) {
    assert.equal(parseAddr(text), null, text);
  }
  assert.deepEqual(parseAddr('127.0.0.1:0'), { ip: '127.0.0.1', port: 0 });
});

test('what kind of address a string is', () => {
  assert.equal(addrKind('/tmp/echo.sock'), 'unix');
  assert.equal(addrKind('@echo'), 'abstract');
  assert.equal(addrKind('10.0.0.2:8080'), 'ip-port');
  assert.equal(addrKind('[fd00::2]:8080'), 'ip-port');
  assert.equal(addrKind('10.0.0.2'), 'ip');
  assert.equal(addrKind('fd00::2'), 'ip');
  assert.equal(addrKind(''), null);
  assert.equal(addrKind(null), null);
  assert.ok(isUnixAddr('@echo') && isAbstractAddr('@echo'));
  assert.ok(isUnixAddr('/tmp/a') && !isAbstractAddr('/tmp/a'));
  assert.ok(!isUnixAddr('10.0.0.1:1') && !isUnixAddr(null));
  assert.equal(parseIp('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(parseIp('FD00::2'), 'fd00::2');
  assert.equal(parseIp('10.0.0.2:80'), null);
  assert.equal(parseIp('/tmp/a'), null);
  assert.equal(unixName(null), 'unnamed');
  assert.equal(unixName('@echo'), '@echo');
});

test('Unix names match only exactly and name no host', () => {
  assert.ok(sameEndpoint('/tmp/echo.sock', '/tmp/echo.sock'));
  assert.ok(!sameEndpoint('/tmp/echo.sock', '/tmp/other.sock'));
  assert.ok(!sameEndpoint('@echo', '/tmp/echo'));
  assert.ok(!sameEndpoint('@echo', '0.0.0.0:1'));
  assert.equal(hostOfAddr(model, '/tmp/echo.sock'), null);
  assert.equal(hostOfAddr(model, '@echo'), null);
  assert.equal(hostOfAddr(model, 'fd00::1'), 'A', 'a bare IPv6 (a raw socket) names its host');
});

test('a long Unix name is shortened for a plug’s label, keeping its file name', () => {
  assert.equal(shortUnixName('/tmp/echo.sock', 31), '/tmp/echo.sock', 'short enough');
  assert.equal(shortUnixName(null, 31), 'unnamed');
  const long = '/var/lib/plugboard/sessions/abcdef/run/app/echo.sock';
  const short = shortUnixName(long, 31);
  assert.equal(short, '/var/…/abcdef/run/app/echo.sock');
  assert.ok(short.length <= 31);
  assert.equal(shortUnixName('/tmp/a-very-long-directory-name/echo.sock', 31), '/tmp/…/echo.sock');
  const file = shortUnixName(`/tmp/${'x'.repeat(40)}.sock`, 31);
  assert.ok(file.startsWith('…') && file.endsWith('x.sock') && file.length === 31, file);
  const abstract = shortUnixName(`@${'y'.repeat(40)}`, 31);
  assert.ok(abstract.startsWith('@y') && abstract.endsWith('…') && abstract.length === 31, abstract);
  for (let max = 8; max < 60; max++) assert.ok(shortUnixName(long, max).length <= max, String(max));
});
