/**
 * The handler table: request name → handler, one family per file. Requests absent here are not
 * implemented by the reference back-end; the dispatcher answers them as refused (after their
 * feature gate, which every one of them fails because their features are not offered).
 * @module
 */
import { checkDeviceState, setDeviceStateFd } from './device-state.js';
import type { FrontendRequestName } from '../../wire/index.js';
import type { Handler } from './context.js';
import { setBackendReqFd } from './backend-channel.js';
import { getConfig, setConfig } from './config.js';
import { getFeatures, getProtocolFeatures, getQueueNum, setFeatures, setProtocolFeatures } from './features.js';
import { getInflightFd, setInflightFd } from './inflight.js';
import { setLogBase, setLogFd } from './log.js';
import { addMemReg, getMaxMemSlots, remMemReg, setMemTable } from './memory.js';
import { getStatus, resetDevice, resetOwner, setOwner, setStatus } from './session.js';
import {
  getVringBase, setVringAddr, vringKick, setVringBase, setVringCall, setVringEnable, setVringEndian, setVringErr, setVringKick, setVringNum,
} from './vring.js';

export type { Handler, HandlerContext } from './context.js';

// Handlers are typed by payload; the dispatcher passes each the payload its table entry decodes.
type AnyHandler = Handler<never>;

/** Every implemented front-end request. */
export const HANDLERS: Readonly<Partial<Record<FrontendRequestName, AnyHandler>>> = Object.freeze({
  GET_FEATURES: getFeatures,
  SET_FEATURES: setFeatures,
  SET_OWNER: setOwner,
  RESET_OWNER: resetOwner,
  SET_MEM_TABLE: setMemTable,
  SET_LOG_BASE: setLogBase,
  SET_LOG_FD: setLogFd,
  SET_VRING_NUM: setVringNum,
  SET_VRING_ADDR: setVringAddr,
  SET_VRING_BASE: setVringBase,
  GET_VRING_BASE: getVringBase,
  SET_VRING_KICK: setVringKick,
  SET_VRING_CALL: setVringCall,
  SET_VRING_ERR: setVringErr,
  GET_PROTOCOL_FEATURES: getProtocolFeatures,
  SET_PROTOCOL_FEATURES: setProtocolFeatures,
  GET_QUEUE_NUM: getQueueNum,
  SET_VRING_ENABLE: setVringEnable,
  SET_VRING_ENDIAN: setVringEndian,
  SET_BACKEND_REQ_FD: setBackendReqFd,
  GET_CONFIG: getConfig,
  SET_CONFIG: setConfig,
  GET_INFLIGHT_FD: getInflightFd,
  SET_INFLIGHT_FD: setInflightFd,
  RESET_DEVICE: resetDevice,
  GET_MAX_MEM_SLOTS: getMaxMemSlots,
  ADD_MEM_REG: addMemReg,
  REM_MEM_REG: remMemReg,
  SET_STATUS: setStatus,
  GET_STATUS: getStatus,
  VRING_KICK: vringKick,
  SET_DEVICE_STATE_FD: setDeviceStateFd,
  CHECK_DEVICE_STATE: checkDeviceState,
} satisfies Partial<Record<FrontendRequestName, AnyHandler>>);
